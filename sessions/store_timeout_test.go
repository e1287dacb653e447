package sessions_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"termhost/sessions"
	"termhost/tui/apps"
)

// Issue 8 item 2, "give every store call a timeout": when the store never
// answers an app's call, the call ends after the store timeout (injected
// short here; tui.StoreTimeout in production), the app shows an error
// line instead of waiting for ever, and the session keeps serving: keys
// still echo, and the same call works once the store answers again.
func TestStoreCallTimesOut(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name  string
		open  string // keys that open the app (before the store stops)
		ready string
		call  string // the key(s) whose store call is never answered
		told  string // the error line
		echo  string // keys typed afterwards, and what they show
		shown string
		again string // with the store back: the call again, and its answer
		ok    string
	}{
		{name: "notes save", open: "draft", ready: "draft", call: "\x13", told: "not saved: the store did not answer in time",
			echo: " more", shown: "draft more", again: "\x13", ok: "saved untitled"},
		{name: "documents list", ready: " alice · ", call: "\x02c2", told: "cannot list documents: the store did not answer in time",
			echo: "\x021typed", shown: "typed", again: "\x022", ok: "No documents yet"},
		{name: "chat history", ready: " alice · ", call: "\x02c3", told: "cannot load #lobby: the store did not answer in time",
			echo: "\x021typed", shown: "typed", again: "\x02c3", ok: "3:#lobby"},
		{name: "chat post", open: "\x02c3", ready: "2:#lobby", call: "hello\r", told: "not sent: the store did not answer in time",
			echo: "next", shown: "> hellonext", again: "\x7f\x7f\x7f\x7f\r", ok: "alice: hello"}, // the text comes back as the draft
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			g := &heldStore{Store: e.store}
			t.Cleanup(g.open)
			e.mgr = sessions.NewManager(sessions.Config{Store: g, Clock: e.clock, Policy: e.policy, Node: "n1",
				Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil)), StoreTimeout: timeout})
			t.Cleanup(func() { e.mgr.Shutdown(context.Background(), "test over") })
			if err := e.mgr.Start(context.Background()); err != nil { // the chat fan-out
				t.Fatal(err)
			}
			c := e.attach()
			c.send(tt.open)
			c.waitFor(tt.ready)
			if tt.open == "\x02c3" {
				waitFor(t, "the room's history", func() bool { return g.loaded.Load() > 0 })
			}

			g.shut()
			start := time.Now()
			c.send(tt.call)
			waitFor(t, "the store call to be held", func() bool { return g.waiting.Load() > 0 })
			scr := c.waitFor(tt.told)
			took := time.Since(start)
			for _, l := range strings.Split(scr, "\n") {
				if strings.Contains(l, tt.told) {
					t.Logf("after %v (store timeout %v): %s", took.Round(time.Millisecond), timeout, strings.TrimSpace(l))
				}
			}
			if took < timeout {
				t.Errorf("the error came after %v, before the timeout %v", took, timeout)
			}
			fast(t, c, tt.echo, tt.shown)

			g.open()
			c.send(tt.again)
			c.waitFor(tt.ok)
		})
	}
}
