// Package testterm turns a program's terminal output into a screen that tests
// can read: the bytes go through a real VT emulator
// (github.com/charmbracelet/x/vt), so assertions are about what a person
// would see, not about escape sequences.
package testterm

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
)

// Screen is a virtual terminal safe for concurrent use: one goroutine may
// feed it while a test polls its contents.
type Screen struct {
	mu      sync.Mutex
	em      *vt.Emulator
	crlf    bool
	lastCR  bool
	raw     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	closed  bool
}

// Option configures a Screen.
type Option func(*Screen)

// CRLF makes the screen turn a bare "\n" into "\r\n", as a pty's output
// processing (onlcr) or a telnet NVT does. Use it for raw sessions.Conn
// output; SSH clients already receive CR LF from the server's pty.
func CRLF() Option { return func(s *Screen) { s.crlf = true } }

// New returns a w×h screen.
func New(w, h int, opts ...Option) *Screen {
	s := &Screen{em: vt.NewEmulator(w, h), changed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	// The emulator answers queries (device attributes, cursor reports) on
	// its input pipe, which blocks until read: drain it so Write never
	// stalls. The goroutine ends when Close closes the pipe.
	go func() { _, _ = io.Copy(io.Discard, s.em) }()
	return s
}

// Write feeds terminal output to the screen. It implements io.Writer.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	s.raw.Write(p)
	data := p
	if s.crlf {
		data = s.translate(p)
	}
	_, _ = s.em.Write(data)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// translate maps "\n" to "\r\n" but leaves an existing "\r\n" alone, also
// across write boundaries. Caller holds mu.
func (s *Screen) translate(p []byte) []byte {
	out := make([]byte, 0, len(p)+8)
	for _, b := range p {
		if b == '\n' && !s.lastCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		s.lastCR = b == '\r'
	}
	return out
}

// Pipe copies r into the screen until r fails or ends; the returned
// channel is closed then.
func (s *Screen) Pipe(r io.Reader) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(s, r)
	}()
	return done
}

// Close stops the screen; later writes fail.
func (s *Screen) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	// Closing the input pipe ends the drain goroutine. The emulator's own
	// Close would also set a flag its Read checks without a lock.
	if pw, ok := s.em.InputPipe().(*io.PipeWriter); ok {
		return pw.Close()
	}
	return nil
}

// Text is the visible screen: one line per row, trailing spaces trimmed.
func (s *Screen) Text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.em.String()
}

// Lines is Text split into exactly Height rows.
func (s *Screen) Lines() []string {
	s.mu.Lock()
	h := s.em.Height()
	text := s.em.String()
	s.mu.Unlock()
	lines := strings.Split(text, "\n")
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines[:h]
}

// Line is row y of the screen, trailing spaces trimmed.
func (s *Screen) Line(y int) string {
	lines := s.Lines()
	if y < 0 || y >= len(lines) {
		return ""
	}
	return lines[y]
}

// Cursor is the cursor position, zero-based.
func (s *Screen) Cursor() (x, y int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.em.CursorPosition()
	return p.X, p.Y
}

// CursorHidden reports whether the program hid the cursor.
func (s *Screen) CursorHidden() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.em.CursorHidden()
}

// AltScreen reports whether the alternate screen is active.
func (s *Screen) AltScreen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.em.IsAltScreen()
}

// Size is the screen's width and height.
func (s *Screen) Size() (w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.em.Width(), s.em.Height()
}

// Resize changes the screen's size, as a terminal window would.
func (s *Screen) Resize(w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.em.Resize(w, h)
}

// Raw is every byte written so far, untranslated: messages printed after a
// program leaves the alternate screen, stderr text and the like.
func (s *Screen) Raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// WaitFor waits until the screen shows substr and returns the screen text;
// on timeout it fails the test and prints the screen.
func (s *Screen) WaitFor(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	return s.WaitUntil(t, "screen to show "+quote(substr), timeout, func(text string) bool {
		return strings.Contains(text, substr)
	})
}

// WaitRaw waits until the raw output contains substr.
func (s *Screen) WaitRaw(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		raw, ch := s.raw.String(), s.changed
		s.mu.Unlock()
		if strings.Contains(raw, substr) {
			return raw
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for output %s; got %q", timeout, quote(substr), raw)
			return raw
		}
	}
}

// WaitUntil waits until cond holds for the screen text, re-checking after
// every write; on timeout it fails the test with what it waited for.
func (s *Screen) WaitUntil(t testing.TB, what string, timeout time.Duration, cond func(text string) bool) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		text, ch := s.em.String(), s.changed
		s.mu.Unlock()
		if cond(text) {
			return text
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; screen:\n%s", timeout, what, frame(text))
			return text
		}
	}
}

func quote(s string) string { return "\"" + s + "\"" }

// frame draws text with a left margin so blank lines and edges are visible.
func frame(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = "|" + l
	}
	return strings.Join(lines, "\n")
}
