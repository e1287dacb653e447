package sessions

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/tui"
	"termhost/tui/apps"
)

// propClock is a fixed clock: the property test needs no time to pass.
type propClock struct{ t time.Time }

func (c propClock) Now() time.Time                        { return c.t }
func (c propClock) AfterFunc(time.Duration, func()) Timer { return propTimer{} }
func (propTimer) Stop() bool                              { return true }
func propKey(code rune, text string, mod tea.KeyMod) tea.Msg {
	return tea.KeyPressMsg{Code: code, Text: text, Mod: mod}
}

type propTimer struct{}

// propScreen renders a workspace the way a client sees it: through the
// ultraviolet renderer into the x/vt terminal emulator.
func propScreen(t *testing.T, ws *tui.Workspace, w, h int) string {
	t.Helper()
	var out bytes.Buffer
	r := uv.NewTerminalRenderer(&out, []string{"TERM=xterm-256color"})
	r.SetFullscreen(true)
	r.SetRelativeCursor(false)
	r.Resize(w, h)
	r.Erase()
	buf := uv.NewScreenBuffer(w, h)
	content, cur := ws.View(w, h)
	uv.NewStyledString(content).Draw(buf, buf.Bounds())
	r.Render(buf.RenderBuffer)
	if cur != nil {
		r.MoveTo(cur.X, cur.Y)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	em := vt.NewEmulator(w, h)
	if _, err := em.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	pos := em.CursorPosition()
	return fmt.Sprintf("%s\ncursor %d,%d", em.Render(), pos.X, pos.Y)
}

var propWords = []string{"hello", "wörld", "日本語", "emoji🙂", "x", "a b c", "tab\there", "long-line-" + strings.Repeat("z", 90)}

// propKeys returns a random but meaningful key: text, moves, prefix keys
// that open/switch/close tabs, app keys.
func propKeys(r *rand.Rand) []tea.Msg {
	ctrlB := propKey('b', "", tea.ModCtrl)
	switch r.IntN(14) {
	case 0, 1, 2, 3:
		w := propWords[r.IntN(len(propWords))]
		var out []tea.Msg
		for _, ch := range w {
			out = append(out, propKey(ch, string(ch), 0))
		}
		return out
	case 4:
		return []tea.Msg{propKey(tea.KeyEnter, "", 0)}
	case 5:
		return []tea.Msg{propKey([]rune{tea.KeyLeft, tea.KeyRight, tea.KeyUp, tea.KeyDown, tea.KeyHome, tea.KeyEnd, tea.KeyPgUp, tea.KeyPgDown}[r.IntN(8)], "", 0)}
	case 6:
		return []tea.Msg{propKey(tea.KeyBackspace, "", 0)}
	case 7: // new tab of a random app
		return []tea.Msg{ctrlB, propKey('c', "c", 0), propKey(rune('1'+r.IntN(6)), string(rune('1'+r.IntN(6))), 0)}
	case 8:
		return []tea.Msg{ctrlB, propKey('n', "n", 0)}
	case 9:
		return []tea.Msg{ctrlB, propKey('p', "p", 0)}
	case 10:
		if r.IntN(4) == 0 {
			return []tea.Msg{ctrlB, propKey('x', "x", 0)}
		}
		return nil
	case 11:
		return []tea.Msg{propKey(tea.KeyLeft, "", tea.ModCtrl)}
	case 12:
		return []tea.Msg{propKey(tea.KeyDown, "", 0), propKey(tea.KeyDown, "", 0)}
	default:
		return []tea.Msg{propKey(tea.KeyTab, "", 0)}
	}
}

// TestRestoreRendersIdenticalScreen is issue 3's property: for random
// workspaces, Restore(Snapshot) renders the identical screen at the same
// size, and both stay identical (screen and state) after a resize.
func TestRestoreRendersIdenticalScreen(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "prop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := propClock{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	m := NewManager(Config{Store: store, Clock: clock, Registry: apps.Registry(), Node: "prop"})
	u := User{Name: "prop", Admin: true}
	for i, text := range []string{"hi all", "日本語 ok", "second"} {
		if _, err := store.PostChat(ctx, persist.ChatMessage{Room: "#lobby", User: fmt.Sprint("u", i), Text: text, At: clock.t}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreateDocument(ctx, persist.Document{Owner: "prop", Title: "plan", Body: "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	sizes := [][2]int{{80, 24}, {20, 5}, {132, 40}, {33, 9}}
	for seed := range uint64(150) {
		r := rand.New(rand.NewPCG(seed, 7))
		env := m.env(u, &sessionRef{})
		ws := tui.New(m.reg, env)
		ws.SessionName = "p"
		for range 10 + r.IntN(80) {
			for _, k := range propKeys(r) {
				if ws.Update(k) != tui.ActNone {
					break
				}
			}
			// Deliver posted chat as the hub would.
			m.chat.mu.Lock()
			queued := m.chat.queue
			m.chat.queue = nil
			m.chat.mu.Unlock()
			for _, msg := range queued {
				ws.Update(msg)
			}
		}
		size := sizes[r.IntN(len(sizes))]
		ws.View(size[0], size[1]) // the size the user last saw, as a session would
		data, err := ws.Snapshot()
		if err != nil {
			t.Fatalf("seed %d: snapshot: %v", seed, err)
		}
		restored, err := tui.Restore(m.reg, m.env(u, &sessionRef{}), data)
		if err != nil {
			t.Fatalf("seed %d: restore: %v\n%s", seed, err, data)
		}
		restored.SessionName = "p"
		want, got := propScreen(t, ws, size[0], size[1]), propScreen(t, restored, size[0], size[1])
		if want != got {
			t.Fatalf("seed %d at %dx%d: restored screen differs\nwant:\n%s\ngot:\n%s\nstate: %s", seed, size[0], size[1], want, got, data)
		}
		next := sizes[r.IntN(len(sizes))]
		want, got = propScreen(t, ws, next[0], next[1]), propScreen(t, restored, next[0], next[1])
		if want != got {
			t.Fatalf("seed %d resized to %dx%d: screens differ\nwant:\n%s\ngot:\n%s", seed, next[0], next[1], want, got)
		}
		a, _ := ws.Snapshot()
		b, _ := restored.Snapshot()
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: state differs after resize\n%s\n%s", seed, a, b)
		}
	}
}
