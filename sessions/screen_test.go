package sessions

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
)

// A frame drawn row by row into a kept screen (screen.go) must leave the
// screen, and the client's terminal, exactly as drawing it whole does:
// random keys through every app, random resizes now and then, a hot and a
// cold client side by side, cell for cell after every step.
func TestKeptScreenDrawsLikeWhole(t *testing.T) {
	pw := newPropWorld(t, "screen")
	u := User{Name: "prop", Admin: true}
	sizes := [][2]int{{80, 24}, {20, 5}, {132, 40}, {33, 9}}
	rowsDrawnAlone := 0
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 11))
		ws := pw.newWS(u)
		ws.SessionName = "p"
		hot := newClient(&recordConn{}, ClientInfo{Term: "xterm-256color"}, propTime)
		cold := &Client{info: ClientInfo{Term: "xterm-256color"}}
		size := sizes[0]
		hotTerm, coldTerm := vt.NewEmulator(size[0], size[1]), vt.NewEmulator(size[0], size[1])
		for step := range 60 {
			if r.IntN(15) == 0 {
				size = sizes[r.IntN(len(sizes))]
				hotTerm, coldTerm = vt.NewEmulator(size[0], size[1]), vt.NewEmulator(size[0], size[1])
				hot.renderer, cold.renderer = nil, nil // a new terminal: repaint whole
			}
			keys := propKeys(r)
			if r.IntN(6) == 0 { // zero-width characters fold into the cell before them
				keys = append(propText(zeroWidth[r.IntN(len(zeroWidth))]), keys...)
			}
			pw.step(ws, keys)
			w, h := size[0], size[1]
			content, cur := ws.View(w, h)
			kept := hot.screen.RenderBuffer != nil
			hotTerm.Write(crlf(hot.render(content, cur, w, h, true)))
			hot.frame.Reset()
			coldTerm.Write(crlf(cold.render(content, cur, w, h, false)))
			cold.frame.Reset()
			if kept {
				rowsDrawnAlone++
			}
			whole := uv.NewScreenBuffer(w, h)
			uv.NewStyledString(content).Draw(whole, whole.Bounds())
			if diff := cellsDiffer(hot.screen, whole, w, h); diff != "" {
				t.Fatalf("seed %d step %d at %dx%d: kept screen differs from a whole draw: %s\ncontent %q", seed, step, w, h, diff, content)
			}
			if a, b := hotTerm.Render(), coldTerm.Render(); a != b {
				t.Fatalf("seed %d step %d: terminals differ\nrow by row:\n%s\nwhole:\n%s", seed, step, a, b)
			}
			if cold.screen.RenderBuffer != nil {
				t.Fatalf("seed %d step %d: a client of a session not typed in kept its screen", seed, step)
			}
		}
		hot.farewell("")
		if hot.screen.RenderBuffer != nil {
			t.Fatalf("seed %d: farewell kept the screen", seed)
		}
	}
	if rowsDrawnAlone == 0 {
		t.Fatal("no frame was drawn into a kept screen: the test tests nothing")
	}
}

// zeroWidth are texts that start with a character of no width.
var zeroWidth = []string{"\u0301", "\u200d", "\ufe0f", "\u0301b", "\u200db", "\n\u0301x"}

// A row starting with a zero-width character is folded by a whole draw
// into the last cell drawn above it; drawn alone it would be lost (found
// by the echo attack trial: "abc", Enter, U+0301 showed "abc" on the
// typing client and "abć" on a fresh attach).
func TestKeptScreenZeroWidthRowStart(t *testing.T) {
	for _, lead := range []string{"\u0301b", "\u200db", "\ufe0fb", "\u0301", "\x1b[1m\u0301b\x1b[m"} {
		for _, above := range []string{"short", strings.Repeat("a", 80), "日本" + strings.Repeat("a", 76)} {
			c := newClient(&recordConn{}, ClientInfo{Term: "xterm-256color"}, propTime)
			rows := make([]string, 5)
			rows[1], rows[2] = above, "x"
			steps := []string{strings.Join(rows, "\n")}
			rows[2] = lead
			steps = append(steps, strings.Join(rows, "\n"))
			rows[2] = "y" // and back: the folded mark must go again
			steps = append(steps, strings.Join(rows, "\n"))
			for i, content := range steps {
				c.render(content, nil, 80, 5, true)
				c.frame.Reset()
				whole := uv.NewScreenBuffer(80, 5)
				uv.NewStyledString(content).Draw(whole, whole.Bounds())
				if diff := cellsDiffer(c.screen, whole, 80, 5); diff != "" {
					t.Errorf("row %q under %q, step %d: %s", lead, above, i, diff)
				}
			}
		}
	}
}

func crlf(p []byte) []byte { return bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")) }

func cellsDiffer(a, b uv.ScreenBuffer, w, h int) string {
	for y := range h {
		for x := range w {
			ca, cb := a.CellAt(x, y), b.CellAt(x, y)
			if (ca == nil) != (cb == nil) || ca != nil && !ca.Equal(cb) {
				return fmt.Sprintf("cell %d,%d: %+v, want %+v", x, y, ca, cb)
			}
		}
	}
	return ""
}

// penAfter decides whether a row can be drawn alone; it may say "styled"
// when in doubt, never "default" when a style or link carries on.
func TestPenAfter(t *testing.T) {
	tests := []struct {
		line string
		in   pen
		want pen
	}{
		{"plain", penDefault, penDefault},
		{"plain", penStyled, penStyled},
		{"\x1b[7m inverse \x1b[m", penDefault, penDefault},
		{"\x1b[7m inverse \x1b[0m", penStyled, penDefault},
		{"\x1b[1;4m open", penDefault, penStyled},
		{"\x1b[m\x1b[31m red", penDefault, penStyled},
		{"\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\\x1b[m", penDefault, penSticky},
		{"\x1b[m after a link", penSticky, penSticky},
		{"", penSticky, penSticky},
	}
	for _, tt := range tests {
		if got := penAfter(tt.line, tt.in); got != tt.want {
			t.Errorf("penAfter(%q, %d) = %d, want %d", tt.line, tt.in, got, tt.want)
		}
	}
}

// A row whose pen is carried in from the row above (a style left open)
// cannot be drawn alone: the frame is drawn whole, and still comes out as
// a whole draw does.
func TestKeptScreenCarriedStyle(t *testing.T) {
	c := &Client{info: ClientInfo{Term: "xterm-256color"}}
	frames := []string{
		"\x1b[7mtop\nsecond\x1b[m\nthird",
		"\x1b[7mtop\nsecond!\x1b[m\nthird", // row 1 carries inverse in from row 0
		"\x1b[7mtop\x1b[m\nsecond!\nthird?",
	}
	for i, content := range frames {
		c.render(content, nil, 20, 4, true)
		c.frame.Reset()
		whole := uv.NewScreenBuffer(20, 4)
		uv.NewStyledString(content).Draw(whole, whole.Bounds())
		if diff := cellsDiffer(c.screen, whole, 20, 4); diff != "" {
			t.Fatalf("frame %d: %s", i, diff)
		}
	}
	if len(c.lines) != 4 {
		t.Fatalf("rows tracked: %d, want 4", len(c.lines))
	}
}

// A client keeps its screen while its session is typed in, and the sweep
// gives it back HotScreenIdle after the last key; a frame not caused by
// recent input (a chat message to an idle session) keeps none.
func TestKeptScreenLifetime(t *testing.T) {
	m, _ := screenFixture(t)
	clock := &stepClock{now: propTime} // input_rate_test.go
	m.clock = clock
	ctx := context.Background()
	s, err := m.Create(ctx, User{Name: "sam"}, "hot")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(&recordConn{}, ClientInfo{Term: "xterm-256color", Width: 80, Height: 24, Transport: "ssh"}, clock.Now())
	if err := s.attach(c, false); err != nil {
		t.Fatal(err)
	}
	kept := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return c.screen.RenderBuffer != nil
	}
	if kept() {
		t.Fatal("an attach alone kept the client's screen")
	}
	s.mu.Lock()
	s.renderLocked() // a frame nobody typed for
	s.mu.Unlock()
	if kept() {
		t.Fatal("a session not typed in kept its client's screen")
	}
	s.input(c, []tea.Msg{tea.KeyPressMsg{Code: 'x', Text: "x"}})
	if !kept() {
		t.Fatal("a typed-in session's client kept no screen")
	}
	clock.advance(HotScreenIdle - time.Second)
	m.Sweep(ctx)
	if !kept() {
		t.Fatal("the sweep released the screen before HotScreenIdle")
	}
	clock.advance(time.Second)
	m.Sweep(ctx)
	if kept() {
		t.Fatal("the sweep kept the screen HotScreenIdle after the last key")
	}
	s.input(c, []tea.Msg{tea.KeyPressMsg{Code: 'y', Text: "y"}})
	if !kept() {
		t.Fatal("typing again kept no screen")
	}
	s.detachClient(c, "", "sam", "", "detach")
	if c.screen.RenderBuffer != nil {
		t.Fatal("a detached client kept its screen")
	}
}
