package sessions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"termhost/sessions"
	"termhost/tui"
	"termhost/tui/apps"
)

// gate is a test-only app whose Update blocks on "w" until the test opens
// the gate: its session's lock stays held meanwhile, like a session busy
// with a huge paste or a slow render.
type gate struct {
	entered chan struct{} // closed when Update blocks
	open    chan struct{} // closed by release: Update returns
	once    *sync.Once    // closes entered
	opened  *sync.Once    // closes open
}

// release opens the gate (again: a no-op).
func (g *gate) release() { g.opened.Do(func() { close(g.open) }) }

func (g *gate) Kind() string                        { return "gate" }
func (g *gate) Title() string                       { return "gate" }
func (g *gate) Documents() []string                 { return []string{} }
func (g *gate) View(int, int) (string, *tui.Cursor) { return "gate is open", nil }
func (g *gate) State() (json.RawMessage, error)     { return json.Marshal("") }
func (g *gate) Update(msg tea.Msg) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "w" {
		g.once.Do(func() { close(g.entered) })
		<-g.open
	}
}

// gateRegistry is every app plus gate, last in the chooser; the returned
// gate's channels control every gate tab.
func gateRegistry() (*tui.Registry, string, *gate) {
	g := &gate{entered: make(chan struct{}), open: make(chan struct{}), once: &sync.Once{}, opened: &sync.Once{}}
	reg := apps.Registry()
	reg.Register(tui.Kind{Name: "gate", Title: "Gate", Version: 1,
		New:     func(tui.Env, string) tui.App { return g },
		Restore: func(tui.Env, int, json.RawMessage) (tui.App, error) { return g, nil }})
	return reg, string(rune('0' + len(reg.Kinds(false)))), g
}

// chatKey is the chooser key of Chat.
func chatKey(reg *tui.Registry) string {
	for i, k := range reg.Kinds(false) {
		if k.Name == "chat" {
			return string(rune('1' + i))
		}
	}
	return "?"
}

// busyAlice starts a manager with the gate app, attaches alice with a
// Chat tab and a gate tab, and blocks her session inside the gate. The
// gate opens at cleanup.
func busyAlice(t *testing.T) (*env, *sessions.Manager, *client, *gate, *tui.Registry) {
	t.Helper()
	e := newEnv(t, testPolicy())
	reg, gateKey, g := gateRegistry()
	m := e.managerWith(reg)
	if err := m.Start(context.Background()); err != nil { // the chat fan-out
		t.Fatal(err)
	}
	a := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
	a.waitFor(" alice · ")
	a.send("\x02c" + chatKey(reg))
	a.waitFor("#lobby")
	a.send("\x02c" + gateKey)
	a.waitFor("gate is open")
	t.Cleanup(g.release)
	a.send("w")
	select {
	case <-g.entered:
	case <-time.After(wait):
		t.Fatal("alice's session never entered the gate")
	}
	return e, m, a, g, reg
}

// Issue 8 (attack trial): the chat fan-out delivered each message to each
// session in turn under that session's lock, so one busy session held up
// chat for the whole node. Now every session has its own mailbox: bob sees
// his lines at once while alice's session is stuck.
func TestChatFanOutSkipsBusySession(t *testing.T) {
	e, m, _, _, reg := busyAlice(t)
	b := e.serve(m, bob, info("10.0.0.2:1002", 80, 24))
	b.waitFor(" bob · ")
	b.send("\x02c" + chatKey(reg))
	b.waitFor("#lobby")
	for _, line := range []string{"first", "second", "third"} {
		start := time.Now()
		b.send(line + "\r")
		b.scr.WaitFor(t, "bob: "+line, time.Second)
		t.Logf("%q delivered to bob after %s", line, time.Since(start))
	}
}

// A session that cannot take its chat in time keeps a bounded mailbox: past
// the bound its lines are dropped for one resync, and its Chat tab reads
// the room again from the store once the session is free, so it shows the
// newest line and none is missing from what the store holds.
func TestChatFanOutResyncsAnOverflowedSession(t *testing.T) {
	e, m, a, g, reg := busyAlice(t)
	// 8 posters × 7 lines: more than a mailbox holds (maxMailChats), and
	// within every bucket, so the clock (which would run alice's blocked
	// snapshot) stays still.
	const posters, lines = 8, 7
	var last string
	for p := range posters {
		u := sessions.User{Name: fmt.Sprintf("bob%d", p)}
		b := e.serve(m, u, info(fmt.Sprintf("10.0.0.2:%d", 2000+p), 80, 24))
		b.waitFor(" " + u.Name + " · ")
		b.send("\x02c" + chatKey(reg))
		b.waitFor("#lobby")
		for i := range lines {
			last = fmt.Sprintf("%s: m%d", u.Name, i)
			b.send(fmt.Sprintf("m%d\r", i))
			b.waitFor(last)
		}
	}
	g.release()
	a.send("\x022") // Chat is tab 2, after Notes
	a.waitFor(last)
	a.waitFor("bob6: m0") // the screen is whole: every line since is there
}
