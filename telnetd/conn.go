package telnetd

import (
	"bytes"
	"strings"

	"termhost/telnet"
)

// nvtConn adds the network virtual terminal's newline to a telnet.Conn: the
// session renderer writes "\n" meaning CR LF (as the SSH pty writer does).
type nvtConn struct {
	*telnet.Conn
	pending []byte // typed during login, read first
}

func (c *nvtConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *nvtConn) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\n') < 0 {
		return c.Conn.Write(p)
	}
	out := make([]byte, 0, len(p)+16)
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// maxLine bounds a login line.
const maxLine = 256

// lineReader reads login lines from the raw (character mode) connection,
// echoing when asked and handling backspace.
type lineReader struct {
	c   *telnet.Conn
	buf []byte // read but not yet consumed
}

func (r *lineReader) prompt(label string, echo bool) (string, error) {
	if _, err := r.c.Write([]byte(label)); err != nil {
		return "", err
	}
	var line []rune
	for {
		if len(r.buf) == 0 {
			chunk := make([]byte, 512)
			n, err := r.c.Read(chunk)
			if n == 0 && err != nil {
				return "", err
			}
			r.buf = append(r.buf, chunk[:n]...)
		}
		b := r.buf[0]
		r.buf = r.buf[1:]
		switch {
		case b == '\r' || b == '\n':
			r.c.Write([]byte("\r\n"))
			return strings.TrimSpace(string(line)), nil
		case b == 0x03 || b == 0x04:
			return "", errAbort
		case b == 0x7f || b == 0x08:
			if len(line) > 0 {
				line = line[:len(line)-1]
				if echo {
					r.c.Write([]byte("\b \b"))
				}
			}
		case b == 0x15: // ctrl+u
			if echo {
				r.c.Write(bytes.Repeat([]byte("\b \b"), len(line)))
			}
			line = nil
		case b < 0x20:
		default:
			if len(line) < maxLine {
				// Gather a whole UTF-8 sequence when it is there.
				rs := []byte{b}
				for len(r.buf) > 0 && r.buf[0]&0xC0 == 0x80 {
					rs = append(rs, r.buf[0])
					r.buf = r.buf[1:]
				}
				line = append(line, []rune(string(rs))...)
				if echo {
					r.c.Write(rs)
				}
			}
		}
	}
}
