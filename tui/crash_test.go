package tui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// probe is an app that panics where it is told to, and counts the results
// of its own commands.
type probe struct {
	env     tui.Env
	panicIn string // "update", "view", "state", "title", "focus", "unread"
	text    string
	results int
}

type probeResult struct{}

func (p *probe) boom(where string) {
	if p.panicIn == where {
		panic("probe panics in " + where)
	}
}

func (p *probe) Kind() string        { return "probe" }
func (p *probe) Documents() []string { return []string{} }
func (p *probe) Title() string       { p.boom("title"); return "probe" }
func (p *probe) SetFocused(bool)     { p.boom("focus") }
func (p *probe) Unread() int         { p.boom("unread"); return 0 }

func (p *probe) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case probeResult:
		p.results++
	case tea.KeyPressMsg:
		switch k := m.String(); k {
		case "g":
			p.env.Run(func() tea.Msg { return probeResult{} })
		case "!":
			p.panicIn = "update"
			p.boom("update")
		default:
			if strings.HasPrefix(k, "f") && len(k) == 2 { // f1…f5 arm a panic
				p.panicIn = []string{"view", "state", "title", "focus", "unread"}[k[1]-'1']
			} else {
				p.text += m.Text
			}
		}
	}
}

func (p *probe) View(int, int) (string, *tui.Cursor) {
	p.boom("view")
	return fmt.Sprintf("probe %q got %d", p.text, p.results), nil
}

func (p *probe) State() (json.RawMessage, error) {
	p.boom("state")
	return json.Marshal(p.text)
}

func probeRegistry() *tui.Registry {
	r := &tui.Registry{}
	r.Register(tui.Kind{Name: "probe", Title: "Probe", Version: 3,
		New: func(env tui.Env, _ string) tui.App { return &probe{env: env} },
		Restore: func(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			p := &probe{env: env}
			return p, json.Unmarshal(raw, &p.text)
		}})
	return r
}

// queue is a tui.Env.Run that holds commands until drained.
type queue struct{ cmds []tea.Cmd }

func (q *queue) run(cmd tea.Cmd) { q.cmds = append(q.cmds, cmd) }

func (q *queue) drain(ws *tui.Workspace) {
	for len(q.cmds) > 0 {
		cmd := q.cmds[0]
		q.cmds = q.cmds[1:]
		if msg := cmd(); msg != nil {
			ws.Update(msg)
		}
	}
}

// probeWS is a workspace with one probe tab that typed "kept".
func probeWS(t *testing.T) (*tui.Workspace, *queue, *bytes.Buffer) {
	t.Helper()
	q := &queue{}
	var logs bytes.Buffer
	env := tui.Env{User: "alice", Run: q.run, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	data := `{"v":1,"tabs":[{"app":"probe","v":3,"state":"kept"}]}`
	ws, err := tui.Restore(probeRegistry(), env, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return ws, q, &logs
}

// Issue 8 item 1: a panic in any app method stops that tab, not the
// session: the workspace keeps working, the tab says what happened and
// keeps the app's state (for the snapshot and for "r": restart).
func TestAppPanicStopsOnlyItsTab(t *testing.T) {
	tests := []struct {
		name      string
		keys      string
		wantState string // the tab's state in the snapshot afterwards
	}{
		{name: "update", keys: "!", wantState: `"kept"`},
		{name: "view", keys: "\x1bOP", wantState: `"keptx"`},
		{name: "state", keys: "\x1bOQ", wantState: `{}`},
		{name: "title", keys: "\x1bOR", wantState: `"keptx"`},
		{name: "focus", keys: "\x1bOS", wantState: `"kept"`},
		{name: "unread", keys: "\x1b[15~", wantState: `"keptx"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, _, logs := probeWS(t)
			press(ws, tc.keys+"x") // "x": a key after arming, so focus runs
			data, err := ws.Snapshot()
			if err != nil {
				t.Fatalf("Snapshot after the panic: %v", err)
			}
			screen(ws, 80, 24) // a panic in the bars shows from the next frame
			view := screen(ws, 80, 24)
			if tc.name != "state" { // the snapshot written before the crash showed
				data, _ = ws.Snapshot()
			}
			if !strings.Contains(view, "This probe tab crashed: probe panics in "+tc.name) {
				t.Fatalf("the tab does not say it crashed:\n%s", view)
			}
			if !strings.Contains(logs.String(), "probe panics in "+tc.name) || !strings.Contains(logs.String(), "goroutine") {
				t.Errorf("log lacks the panic or its stack:\n%s", logs)
			}
			if want := `"app":"probe","v":3,"state":` + tc.wantState; !strings.Contains(string(data), want) {
				t.Errorf("snapshot %s, want the kept state %s", data, want)
			}
			press(ws, "\x02c1") // the workspace still works
			if ws.Tabs() != 2 {
				t.Errorf("tabs = %d after opening another, want 2", ws.Tabs())
			}
			press(ws, "\x021r")
			if tc.wantState != `{}` && !strings.Contains(screen(ws, 80, 24), `probe "kept`) {
				t.Errorf("r did not restart the app from its state:\n%s", screen(ws, 80, 24))
			}
		})
	}
}

// A command's result goes to the tab that ran it: two tabs of one kind
// never take each other's results, and a closed tab's are dropped.
func TestResultsReachTheAskingTab(t *testing.T) {
	tests := []struct {
		name  string
		keys  string // with tabs 1 and 2 open, tab 1 focused
		want1 string // tab 1's view after the commands ran
		want2 string
	}{
		{name: "asker only", keys: "g", want1: "got 1", want2: "got 0"},
		{name: "each its own", keys: "gg\x022g", want1: "got 2", want2: "got 1"},
		{name: "a closed tab's result is dropped", keys: "g\x02x", want2: "got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, q, _ := probeWS(t)
			press(ws, "\x02c1\x021"+tc.keys)
			q.drain(ws)
			views := map[string]string{}
			for i := range ws.Tabs() {
				press(ws, fmt.Sprintf("\x02%d", i+1))
				views[fmt.Sprint(i+1)] = screen(ws, 80, 24)
			}
			if tc.want1 != "" && !strings.Contains(views["1"], tc.want1) {
				t.Errorf("tab 1:\n%s\nwant %q", views["1"], tc.want1)
			}
			last := views[fmt.Sprint(ws.Tabs())]
			if !strings.Contains(last, tc.want2) {
				t.Errorf("tab %d:\n%s\nwant %q", ws.Tabs(), last, tc.want2)
			}
		})
	}
}

// An app whose Restore panics comes back stopped, keeping the state it was
// given, so the next snapshot still holds the user's work.
func TestRestorePanicKeepsTheState(t *testing.T) {
	reg := probeRegistry()
	reg.Register(tui.Kind{Name: "fragile", Title: "Fragile", Version: 2,
		New:     func(tui.Env, string) tui.App { return &probe{} },
		Restore: func(tui.Env, int, json.RawMessage) (tui.App, error) { panic("fragile cannot restore") }})
	data := `{"v":1,"tabs":[{"app":"fragile","v":1,"state":{"work":"precious"}},{"app":"probe","v":3,"state":"fine"}]}`
	ws, err := tui.Restore(reg, tui.Env{User: "alice"}, []byte(data))
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if view := screen(ws, 80, 24); !strings.Contains(view, "This fragile tab crashed: fragile cannot restore") || !strings.Contains(view, "2:probe") {
		t.Errorf("want the fragile tab stopped and the probe tab there:\n%s", view)
	}
	again, err := ws.Snapshot()
	if err != nil || !strings.Contains(string(again), `{"app":"fragile","v":1,"state":{"work":"precious"}}`) {
		t.Errorf("snapshot %s, %v; want the fragile tab's state as it was, at its version", again, err)
	}
}
