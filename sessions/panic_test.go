package sessions_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"termhost/sessions"
	"termhost/tui"
	"termhost/tui/apps"
)

// boom is a test-only app that panics on purpose: "!" in Update, and once
// armed ("v", "s") in View or State; "c" runs a command that panics.
type boom struct {
	env         tui.Env
	text        string
	view, state bool
}

func (b *boom) Kind() string        { return "boom" }
func (b *boom) Title() string       { return "boom" }
func (b *boom) Documents() []string { return []string{} }

func (b *boom) Update(msg tea.Msg) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return
	}
	switch k.String() {
	case "!":
		var m map[string]int
		m["boom"]++ // a nil-map write, like the nil callback of the report
	case "v":
		b.view = true
	case "s":
		b.state = true
	case "c":
		b.env.Run(func() tea.Msg { panic("boom in a command") })
	default:
		b.text += k.Text
	}
}

func (b *boom) View(int, int) (string, *tui.Cursor) {
	if b.view {
		panic("boom in View")
	}
	return "boom says " + b.text, nil
}

func (b *boom) State() (json.RawMessage, error) {
	if b.state {
		panic("boom in State")
	}
	return json.Marshal(b.text)
}

// boomRegistry is every app plus boom, last in the chooser.
func boomRegistry() (*tui.Registry, string) {
	reg := apps.Registry()
	reg.Register(tui.Kind{Name: "boom", Title: "Boom", Version: 1,
		New: func(env tui.Env, _ string) tui.App { return &boom{env: env} },
		Restore: func(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			b := &boom{env: env}
			return b, json.Unmarshal(raw, &b.text)
		}})
	return reg, string(rune('0' + len(reg.Kinds(false))))
}

// managerWith is newManager with another registry.
func (e *env) managerWith(reg *tui.Registry) *sessions.Manager {
	m := sessions.NewManager(sessions.Config{Store: e.store, Clock: e.clock, Policy: e.policy, Node: "n1",
		Registry: reg, Log: slog.New(slog.NewTextHandler(e.logs, nil))})
	e.t.Cleanup(func() { m.Shutdown(context.Background(), "test over") })
	return m
}

// within fails the test if f does not return in a second: a lock left
// held by a panic shows up as a hang here.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatalf("%s did not return within 1s: a lock is still held", what)
	}
}

// Issue 8 item 1: a panic in app code under the session's lock wedged the
// node (the user could never reattach, listings and SIGTERM hung). Now the
// panic is logged with its stack, the tab says it crashed, no lock stays
// held, the same client keeps typing, another attaches, the manager answers
// and shuts down.
func TestAppPanicIsContained(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		keys   string // typed in the boom tab
		flush  bool   // advance the clock so the snapshot (State) runs
		screen string // what the user sees afterwards
		log    string
	}{
		{name: "in Update", keys: "!", screen: "boom tab crashed: assignment to entry in nil map", log: "in=update"},
		{name: "in View", keys: "v", screen: "boom tab crashed: boom in View", log: "in=view"},
		{name: "in State", keys: "s", flush: true, screen: "boom tab crashed: boom in State", log: "in=state"},
		{name: "in a command", keys: "c", screen: "boom says hi", log: "boom in a command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			reg, boomKey := boomRegistry()
			m := e.managerWith(reg)
			c := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
			c.waitFor(" alice · ")
			c.send("\x02c" + boomKey + "hi")
			c.waitFor("boom says hi")

			c.send(tc.keys)
			if tc.flush {
				// The key may still be on its way to the session: move the
				// clock until the snapshot (and its State) has run, not once
				// (a single Advance raced the key and never flushed).
				waitFor(t, "the snapshot", func() bool {
					e.clock.Advance(time.Second)
					return strings.Contains(e.logs.String(), tc.log)
				})
				c.send("x") // draw again
			}
			c.waitFor(tc.screen)
			waitFor(t, "the panic in the log", func() bool { return strings.Contains(e.logs.String(), tc.log) })
			if logs := e.logs.String(); !strings.Contains(logs, "session=") || !strings.Contains(logs, "goroutine") {
				t.Errorf("the log lacks the session id or the stack:\n%s", logs)
			}

			c.send("\x021still typing")
			c.waitFor("still typing")
			c2 := e.serve(m, alice, info("10.0.0.2:2002", 80, 24), "attach", "--shared")
			c2.waitFor("still typing")
			within(t, "Manager.List", func() {
				if infos, err := m.List(ctx, "", ""); err != nil || len(infos) != 1 {
					t.Errorf("List = %d sessions, %v", len(infos), err)
				}
			})
			within(t, "Manager.Stats", func() {
				if st := m.Stats(); st.Clients != 2 {
					t.Errorf("Stats.Clients = %d, want 2", st.Clients)
				}
			})
			within(t, "Manager.Shutdown", func() { m.Shutdown(ctx, "[bye]") })
			c.waitDone()
			c2.waitDone()
			if snaps := e.snapshots(e.only(alice).ID); len(snaps) == 0 {
				t.Error("no snapshot was written")
			}
		})
	}
}

// A crashed tab keeps the app's state: the snapshot still has it, and "r"
// brings the app back from it.
func TestCrashedTabRestarts(t *testing.T) {
	e := newEnv(t, testPolicy())
	reg, boomKey := boomRegistry()
	m := e.managerWith(reg)
	c := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
	c.waitFor(" alice · ")
	c.send("\x02c" + boomKey + "kept")
	c.waitFor("boom says kept")
	c.send("!")
	c.waitFor("boom tab crashed")
	c.waitFor("app crashed: boom")
	c.send("r")
	c.waitFor("boom says kept")
	c.waitFor("restarted boom")
}
