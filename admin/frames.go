package admin

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// The admin socket's streamed answer (request.Stream): frames of one kind
// byte, a 4-byte big-endian payload length and the payload. Stdout and
// stderr frames carry the verb's output in the order it was written; one
// exit frame (the status in decimal) ends the answer. No kind byte is '{',
// which starts the unstreamed answer of a server from before frames.
const (
	frameStdout = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
	// frameMax bounds one frame's payload; longer writes are split.
	frameMax = 64 << 10
)

// errFrame is a malformed streamed answer.
var errFrame = errors.New("malformed admin answer frame")

// frameWriter writes one streamed answer. mu orders frames of the stdout
// and stderr streams if a verb writes both from two goroutines.
type frameWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error // the first write error; later frames are dropped
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, frameMax+5)}
}

// frame writes p as frames of kind; it reports the first error of the
// connection (the client went away), after which nothing more is sent.
func (f *frameWriter) frame(kind byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.err == nil && len(p) > 0 {
		n := min(len(p), frameMax)
		var hdr [5]byte
		hdr[0] = kind
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		if _, f.err = f.w.Write(hdr[:]); f.err == nil {
			_, f.err = f.w.Write(p[:n])
		}
		p = p[n:]
	}
	return f.err
}

// stream is an io.Writer of kind's frames.
func (f *frameWriter) stream(kind byte) io.Writer { return frameStream{f, kind} }

type frameStream struct {
	f    *frameWriter
	kind byte
}

func (s frameStream) Write(p []byte) (int, error) {
	if err := s.f.frame(s.kind, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// end writes the exit frame and flushes.
func (f *frameWriter) end(code int) {
	f.frame(frameExit, []byte(strconv.Itoa(code)))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = f.w.Flush()
	}
}

// readFrames copies a streamed answer's output to stdout and stderr and
// returns its exit status. Errors: errFrame (wrapped) for a bad kind or
// length, io.ErrUnexpectedEOF when the answer ends before its exit frame,
// the writers' errors.
func readFrames(r *bufio.Reader, stdout, stderr io.Writer) (int, error) {
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 1, err
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:]))
		if n > frameMax {
			return 1, fmt.Errorf("%w: %d bytes (limit %d)", errFrame, n, frameMax)
		}
		var dst io.Writer
		switch hdr[0] {
		case frameStdout:
			dst = stdout
		case frameStderr:
			dst = stderr
		case frameExit:
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return 1, err
			}
			code, err := strconv.Atoi(string(b))
			if err != nil || code < 0 || code > 255 { // a process exit status
				return 1, fmt.Errorf("%w: exit status %q", errFrame, b)
			}
			return code, nil
		default:
			return 1, fmt.Errorf("%w: kind %q", errFrame, hdr[0])
		}
		if _, err := io.CopyN(dst, r, n); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 1, err
		}
	}
}
