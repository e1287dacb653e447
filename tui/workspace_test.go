package tui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
	"termhost/tui/chat"
	"termhost/tui/docs"
	"termhost/tui/notes"
)

// fakeApp is a minimal app: it remembers the keys it got.
type fakeApp struct {
	name string
	keys []string
}

func (a *fakeApp) Kind() string        { return "fake" }
func (a *fakeApp) Title() string       { return a.name }
func (a *fakeApp) Documents() []string { return []string{} }
func (a *fakeApp) Update(msg tea.Msg) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		a.keys = append(a.keys, k.String())
	}
}

func (a *fakeApp) View(w, h int) (string, *tui.Cursor) {
	return fmt.Sprintf("fake %s keys=%s", a.name, strings.Join(a.keys, ",")), &tui.Cursor{X: 1, Y: 1}
}

func (a *fakeApp) State() (json.RawMessage, error) { return json.Marshal(a) }

func (a *fakeApp) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"name": a.name, "keys": a.keys})
}

// testRegistry has Notes, a fake app at state version 2 and an admin-only app.
func testRegistry() *tui.Registry {
	r := &tui.Registry{}
	r.Register(notes.Kind())
	n := 0
	r.Register(tui.Kind{Name: "fake", Title: "Fake", Version: 2,
		New: func(tui.Env, string) tui.App { n++; return &fakeApp{name: fmt.Sprintf("f%d", n)} },
		Restore: func(_ tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			var s struct {
				Name string
				Keys []string
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			return &fakeApp{name: s.Name, keys: s.Keys}, nil
		}})
	r.Register(tui.Kind{Name: "secret", Title: "Secret", Version: 1, AdminOnly: true,
		New:     func(tui.Env, string) tui.App { return &fakeApp{name: "secret"} },
		Restore: func(tui.Env, int, json.RawMessage) (tui.App, error) { return &fakeApp{name: "secret"}, nil }})
	return r
}

func newWS(t *testing.T) *tui.Workspace {
	t.Helper()
	ws := tui.New(testRegistry(), tui.Env{User: "alice"})
	ws.SessionName = "work"
	return ws
}

// press feeds raw terminal input, decoded as the session layer does, and
// returns the last non-empty action.
func press(ws *tui.Workspace, raw string) tui.Action {
	var dec uv.EventDecoder
	act := tui.ActNone
	buf := []byte(raw)
	for len(buf) > 0 {
		n, ev := dec.Decode(buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		if k, ok := ev.(uv.KeyPressEvent); ok {
			if a := ws.Update(tea.KeyPressMsg(k)); a != tui.ActNone {
				act = a
			}
		}
	}
	return act
}

// screen renders the workspace as plain text.
func screen(ws *tui.Workspace, w, h int) string {
	content, _ := ws.View(w, h)
	return ansi.Strip(content)
}

func focusedTitle(ws *tui.Workspace) string {
	if a := ws.Focused(); a != nil {
		return a.Title()
	}
	return ""
}

func TestPrefixKeys(t *testing.T) {
	tests := []struct {
		name      string
		keys      string
		wantAct   tui.Action
		wantTabs  int
		wantFocus string // title of the focused tab
		wantText  string // on screen afterwards
	}{
		{name: "detach", keys: "\x02d", wantAct: tui.ActDetach, wantTabs: 1, wantFocus: "untitled"},
		{name: "chooser opens", keys: "\x02c", wantTabs: 1, wantFocus: "untitled", wantText: "Open a new tab:"},
		{name: "chooser digit", keys: "\x02c2", wantTabs: 2, wantFocus: "f1"},
		{name: "chooser down enter", keys: "\x02cj\r", wantTabs: 2, wantFocus: "f1"},
		{name: "chooser wraps up", keys: "\x02ck\r", wantTabs: 2, wantFocus: "f1"},
		{name: "chooser esc", keys: "\x02c\x1b", wantTabs: 1, wantFocus: "untitled"},
		{name: "chooser hides admin apps", keys: "\x02c", wantTabs: 1, wantText: "2 Fake"},
		{name: "next wraps", keys: "\x02c2\x02c2\x02n", wantTabs: 3, wantFocus: "untitled"},
		{name: "prev", keys: "\x02c2\x02c2\x02p", wantTabs: 3, wantFocus: "f1"},
		{name: "prev wraps", keys: "\x02c2\x02c2\x021\x02p", wantTabs: 3, wantFocus: "f2"},
		{name: "number", keys: "\x02c2\x02c2\x022", wantTabs: 3, wantFocus: "f1"},
		{name: "number past the tabs", keys: "\x02c2\x029", wantTabs: 2, wantFocus: "f1"},
		{name: "close tab", keys: "\x02c2\x02x", wantTabs: 1, wantFocus: "untitled"},
		{name: "close last tab", keys: "\x02x", wantTabs: 0, wantText: "No tabs open"},
		{name: "enter with no tabs opens chooser", keys: "\x02x\r", wantTabs: 0, wantText: "Open a new tab:"},
		{name: "help", keys: "\x02?", wantTabs: 1, wantFocus: "untitled", wantText: "ctrl+b d"},
		{name: "help closes on any key", keys: "\x02?z", wantTabs: 1, wantFocus: "untitled", wantText: "ctrl+b ? help"},
		{name: "quit asks", keys: "\x02q", wantTabs: 1, wantText: "End this session?"},
		{name: "quit confirmed", keys: "\x02qy", wantAct: tui.ActEnd, wantTabs: 1},
		{name: "quit cancelled", keys: "\x02qn", wantTabs: 1, wantFocus: "untitled"},
		{name: "close asks when the text is unsaved", keys: "ab\x02x", wantTabs: 1, wantText: "It holds unsaved text"},
		{name: "close unsaved confirmed", keys: "ab\x02xy", wantTabs: 0, wantText: "No tabs open"},
		{name: "close unsaved cancelled", keys: "ab\x02xn", wantTabs: 1, wantFocus: "untitled*", wantText: "ab"},
		{name: "detach from help", keys: "\x02?\x02d", wantAct: tui.ActDetach, wantTabs: 1},
		{name: "detach from the chooser", keys: "\x02c\x02d", wantAct: tui.ActDetach, wantTabs: 1},
		{name: "detach from the quit question", keys: "\x02q\x02d", wantAct: tui.ActDetach, wantTabs: 1},
		{name: "detach from the close question", keys: "ab\x02x\x02d", wantAct: tui.ActDetach, wantTabs: 1},
		{name: "prefix from the chooser opens help", keys: "\x02c\x02?", wantTabs: 1, wantText: "ctrl+b d"},
		{name: "status shows the prefix", keys: "\x02", wantTabs: 1, wantText: "· ^B"},
		{name: "prefix then text goes nowhere", keys: "\x02zab", wantTabs: 1, wantFocus: "untitled*", wantText: "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWS(t)
			if got := press(ws, tt.keys); got != tt.wantAct {
				t.Errorf("action = %v, want %v", got, tt.wantAct)
			}
			if ws.Tabs() != tt.wantTabs {
				t.Errorf("tabs = %d, want %d", ws.Tabs(), tt.wantTabs)
			}
			if tt.wantFocus != "" && focusedTitle(ws) != tt.wantFocus {
				t.Errorf("focused = %q, want %q", focusedTitle(ws), tt.wantFocus)
			}
			if s := screen(ws, 80, 24); !strings.Contains(s, tt.wantText) {
				t.Errorf("screen lacks %q:\n%s", tt.wantText, s)
			}
		})
	}
}

// ctrl+b x asks before closing any tab whose typed text would be lost: a
// Chat draft not sent, a Documents prompt holding a new title — not only
// Notes (issue 9: a Chat draft was closed without asking).
func TestCloseAsksForUnsentText(t *testing.T) {
	tests := []struct {
		name     string
		keys     string // after the chooser opened the tab
		wantTabs int
		wantText string
	}{
		{name: "chat with a draft asks", keys: "hello\x02x", wantTabs: 2, wantText: "It holds unsaved text"},
		{name: "chat draft kept on no", keys: "hello\x02xn", wantTabs: 2, wantText: "hello"},
		{name: "chat draft lost on yes", keys: "hello\x02xy", wantTabs: 1},
		{name: "chat without a draft closes", keys: "\x02x", wantTabs: 1},
		{name: "chat with a blank draft closes", keys: "   \x02x", wantTabs: 1},
		{name: "documents new prompt with text asks", keys: "nPlan\x02x", wantTabs: 2, wantText: "It holds unsaved text"},
		{name: "documents empty prompt closes", keys: "n\x02x", wantTabs: 1},
		{name: "documents without a prompt closes", keys: "\x02x", wantTabs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &tui.Registry{}
			r.Register(notes.Kind())
			r.Register(docs.Kind())
			r.Register(chat.Kind())
			ws := tui.New(r, tui.Env{User: "alice"})
			open := "\x02c3" // Chat
			if strings.HasPrefix(tt.name, "documents") {
				open = "\x02c2"
			}
			press(ws, open+tt.keys)
			if ws.Tabs() != tt.wantTabs {
				t.Errorf("tabs = %d, want %d", ws.Tabs(), tt.wantTabs)
			}
			if s := screen(ws, 80, 24); !strings.Contains(s, tt.wantText) {
				t.Errorf("screen lacks %q:\n%s", tt.wantText, s)
			}
		})
	}
}

// ctrl+b twice sends one ctrl+b to the app.
func TestPrefixTwiceReachesApp(t *testing.T) {
	ws := newWS(t)
	press(ws, "\x02c2\x02\x02x")
	f := ws.Focused().(*fakeApp)
	if got := strings.Join(f.keys, ","); got != "ctrl+b,x" {
		t.Errorf("app got %q, want ctrl+b,x", got)
	}
}

func TestAdminSeesAdminApps(t *testing.T) {
	ws := tui.New(testRegistry(), tui.Env{User: "root", Admin: true})
	press(ws, "\x02c3")
	if ws.Tabs() != 2 || focusedTitle(ws) != "secret" {
		t.Errorf("admin chose app 3: tabs %d, focused %q; want the admin-only app", ws.Tabs(), focusedTitle(ws))
	}
}

func TestViewFitsEverySize(t *testing.T) {
	sizes := []struct{ w, h int }{{80, 24}, {20, 5}, {21, 6}, {132, 50}, {200, 60}}
	states := []struct{ name, keys string }{
		{name: "notes"},
		{name: "long line", keys: strings.Repeat("long words ", 30) + "\r" + strings.Repeat("line\r", 40)},
		{name: "wide chars", keys: strings.Repeat("中文😀", 30)},
		{name: "chooser", keys: "\x02c"},
		{name: "help", keys: "\x02?"},
		{name: "quit", keys: "\x02q"},
		{name: "close unsaved", keys: "text\x02x"},
		{name: "no tabs", keys: "\x02x"},
		{name: "many tabs", keys: strings.Repeat("\x02c2", 12)},
	}
	for _, st := range states {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", st.name, sz.w, sz.h), func(t *testing.T) {
				ws := newWS(t)
				press(ws, st.keys)
				ws.Notice = "saved a document"
				content, cur := ws.View(sz.w, sz.h)
				lines := strings.Split(content, "\n")
				if len(lines) != sz.h {
					t.Errorf("%d lines, want exactly %d", len(lines), sz.h)
				}
				for i, l := range lines {
					if w := ansi.StringWidthWc(l); w > sz.w {
						t.Errorf("line %d is %d cells wide, want ≤ %d: %q", i, w, sz.w, ansi.Strip(l))
					}
				}
				if cur != nil && (cur.X < 0 || cur.X >= sz.w || cur.Y < 1 || cur.Y >= sz.h-1) {
					t.Errorf("cursor (%d,%d) outside the body of %dx%d", cur.X, cur.Y, sz.w, sz.h)
				}
				if !strings.Contains(ansi.Strip(lines[sz.h-1]), "alice") && sz.w >= 60 {
					t.Errorf("status bar = %q, want the user", ansi.Strip(lines[sz.h-1]))
				}
			})
		}
	}
}

func TestTooSmall(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{19, 5}, {20, 4}, {10, 3}, {1, 1}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			content, cur := newWS(t).View(sz.w, sz.h)
			if cur != nil {
				t.Errorf("cursor shown on a too-small screen")
			}
			if flat := strings.ReplaceAll(content, "\n", ""); !strings.Contains(flat, "too") {
				t.Errorf("view = %q, want a 'terminal too small' message", content)
			}
			for _, l := range strings.Split(content, "\n") {
				if ansi.StringWidthWc(l) > sz.w {
					t.Errorf("line %q wider than %d", l, sz.w)
				}
			}
		})
	}
	if content, _ := newWS(t).View(0, 0); content != "" {
		t.Errorf("View(0,0) = %q, want nothing", content)
	}
}

// One user cannot open tabs without end: the (MaxTabs+1)th is refused with
// a notice and the workspace stays as it was (attack trial: 20,000 tabs held
// the session lock for seconds and gigabytes of memory).
func TestTabsAreBounded(t *testing.T) {
	ws := newWS(t) // starts with one Notes tab
	for ws.Tabs() < tui.MaxTabs {
		before := ws.Tabs()
		press(ws, "\x02c2") // ctrl+b c, then the second kind (fake)
		if ws.Tabs() != before+1 {
			t.Fatalf("tab %d not opened", before+1)
		}
	}
	press(ws, "\x02c2")
	if ws.Tabs() != tui.MaxTabs {
		t.Fatalf("tabs = %d, want the bound %d", ws.Tabs(), tui.MaxTabs)
	}
	if !strings.Contains(screen(ws, 100, 24), "at most 16 tabs") {
		t.Errorf("no notice about the bound:\n%s", screen(ws, 100, 24))
	}
}
