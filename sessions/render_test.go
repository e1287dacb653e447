package sessions

import (
	"bytes"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"

	"termhost/tui"
)

// cursorChar renders ws at w×h through x/vt and returns the character under
// the cursor.
func cursorChar(t *testing.T, ws *tui.Workspace, w, h int) string {
	t.Helper()
	c := &Client{info: ClientInfo{Term: "xterm-256color"}}
	content, cur := ws.View(w, h)
	frame := c.render(content, cur, w, h, true)
	em := vt.NewEmulator(w, h)
	em.Write(bytes.ReplaceAll(frame, []byte("\n"), []byte("\r\n")))
	pos := em.CursorPosition()
	cell := em.CellAt(pos.X, pos.Y)
	if cell == nil {
		return ""
	}
	return cell.Content
}

// TestResizeKeepsCursorOnItsCharacter: Notes wraps long lines, so a resize
// reflows the text and the cursor stays on the same character.
func TestResizeKeepsCursorOnItsCharacter(t *testing.T) {
	m, _ := screenFixture(t)
	ws := newDriven(m, User{Name: "sam"}).Workspace
	line := "0123456789abcdefghijklmnopqrstuvwxyz日本語ABCDEFGHIJKLMNOPQRSTUVWXYZ-the-end"
	typeInto(ws, line)
	// Put the cursor on "本" (the 38th character).
	ws.Update(propKey(tea.KeyHome, "", 0))
	for range 37 {
		ws.Update(propKey(tea.KeyRight, "", 0))
	}
	for _, w := range []int{100, 80, 40, 25, 20, 33} {
		if got := cursorChar(t, ws, w, 10); got != "本" {
			t.Errorf("width %d: cursor on %q, want 本", w, got)
		}
	}
}

// TestColourFollowsTerminal: the same styled workspace is drawn with no
// colour for a dumb terminal and with colour for a 256-colour one.
func TestColourFollowsTerminal(t *testing.T) {
	m, _ := screenFixture(t)
	ws := newDriven(m, User{Name: "sam"}).Workspace
	ws.IdleWarning = "idle: detaching in 5s" // drawn in a bright colour
	render := func(term string) string {
		c := &Client{info: ClientInfo{Term: term}}
		content, cur := ws.View(80, 24)
		return string(c.render(content, cur, 80, 24, true))
	}
	if s := render("xterm-256color"); !strings.Contains(s, "\x1b[") || !strings.Contains(s, "[93") && !strings.Contains(s, "38;5;11") {
		t.Errorf("xterm-256color got no colour: %q", s)
	}
	dumb := render("dumb")
	for _, sgr := range []string{"[93", ";93", "38;5;", "38;2;"} {
		if strings.Contains(dumb, sgr) {
			t.Errorf("dumb terminal got colour %q: %q", sgr, dumb)
		}
	}
}
