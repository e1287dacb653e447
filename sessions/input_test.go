package sessions_test

import (
	"strings"
	"testing"
	"time"

	"termhost/sessions"
)

// Input split across reads (TCP segments, SSH packets) must decode as if it
// had arrived whole. "|" is typed last to mark where the cursor ended.
func TestInputSplitAcrossReads(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string // the first text line
	}{
		{name: "whole", chunks: []string{"ab\x1b[Dc"}, want: "ac|b"},
		{name: "one write per key", chunks: []string{"a", "b", "\x1b[D", "c"}, want: "ac|b"},
		{name: "whole utf-8", chunks: []string{"x中"}, want: "x中|"},
		{name: "utf-8 rune split", chunks: []string{"x\xe4\xb8", "\xad"}, want: "x中|"},
		{name: "escape sequence split", chunks: []string{"ab\x1b[", "Dc"}, want: "ac|b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			for _, ch := range tt.chunks {
				c.send(ch)
			}
			c.send("|")
			c.waitFor("|")
			if got := c.scr.Line(1); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}

// An ESC read on its own waits EscapeTime for the rest of its sequence
// (issue 9: a slow link delivered ESC, then "[D" 5 ms later, and "[D" was
// typed into the document). The clock is the manager's fake one: the ESC
// is held until it advances EscapeTime past the read.
func TestEscapeHeldAcrossReads(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string // between chunks the clock moves 5 ms
		want   string   // the first text line once "|" is typed
	}{
		{name: "esc then [D 5 ms later", chunks: []string{"x", "\x1b", "[D", "y"}, want: "y|x"},
		{name: "esc [ then D", chunks: []string{"ab", "\x1b[", "D", "c"}, want: "ac|b"},
		{name: "esc ending a read", chunks: []string{"ab\x1b", "[Dc"}, want: "ac|b"},
		{name: "linux f1 split", chunks: []string{"a", "\x1b[", "[", "A", "b"}, want: "ab|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			for _, ch := range tt.chunks {
				c.send(ch)
				e.clock.Advance(5 * time.Millisecond)
			}
			c.send("|")
			c.waitFor("|")
			if got := c.scr.Line(1); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}

// A lone ESC with nothing after it is the Escape key once EscapeTime has
// passed: it closes the help overlay.
func TestLoneEscapeIsEscapeKey(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	c.send("\x02?")
	c.waitFor("any key: close")
	c.send("\x1b")
	waitFor(t, "the help to close", func() bool {
		e.clock.Advance(sessions.EscapeTime)
		return !strings.Contains(c.scr.Text(), "any key: close")
	})
}

// A bracketed paste is one paste with its line ends kept, however the
// link splits it (issue 9: "line1⏎line2⏎line3" with LF ends landed as
// "line1line2line3"); a bare LF from a client whose Enter sends LF is a
// new line, and CR LF is one.
func TestPasteAndLineEnds(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // text lines 1.. once "|" is typed
	}{
		{name: "paste with LF", chunks: []string{"\x1b[200~line1\nline2\nline3\x1b[201~"}, want: []string{"line1", "line2", "line3|"}},
		{name: "paste with CR LF", chunks: []string{"\x1b[200~line1\r\nline2\r\nline3\x1b[201~"}, want: []string{"line1", "line2", "line3|"}},
		{name: "paste with CR", chunks: []string{"\x1b[200~line1\rline2\x1b[201~"}, want: []string{"line1", "line2|"}},
		{name: "paste split in markers and CR LF", chunks: []string{"a\x1b[20", "0~line1\r", "\nline2\x1b[2", "01", "~b"}, want: []string{"aline1", "line2b|"}},
		{name: "paste drops controls", chunks: []string{"\x1b[200~x\x1b[2Jy\x07\x1b[201~"}, want: []string{"x[2Jy|"}},
		{name: "paste keeps tabs", chunks: []string{"\x1b[200~a\tb\x1b[201~"}, want: []string{"a    b|"}},
		{name: "bare LF is enter", chunks: []string{"a\nb"}, want: []string{"a", "b|"}},
		{name: "bare LF per read", chunks: []string{"a", "\n", "b"}, want: []string{"a", "b|"}},
		{name: "CR LF is one enter", chunks: []string{"a\r\nb"}, want: []string{"a", "b|"}},
		{name: "CR LF split", chunks: []string{"a\r", "\nb"}, want: []string{"a", "b|"}},
		{name: "two LFs", chunks: []string{"a\n\nb"}, want: []string{"a", "", "b|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			for _, ch := range tt.chunks {
				c.send(ch)
			}
			c.send("|")
			c.waitFor("|")
			for i, want := range tt.want {
				if got := strings.TrimRight(c.scr.Line(1+i), " "); got != want {
					t.Errorf("line %d = %q, want %q\n%s", 1+i, got, want, c.scr.Text())
				}
			}
		})
	}
}

// Attaching turns bracketed paste on; leaving turns it off again.
func TestBracketedPasteMode(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	c.scr.WaitRaw(t, "\x1b[?2004h", wait)
	c.send("\x02d")
	c.waitDone()
	c.scr.WaitRaw(t, "\x1b[?2004l", wait)
}
