package sessions_test

import (
	"context"
	"testing"

	"termhost/sessions"
)

// TestLiveTables: the Admin and Who tables follow sessions as they are
// created, attached and detached, without "r" (issue 9: they were stale
// until refreshed by hand).
func TestLiveTables(t *testing.T) {
	tests := []struct {
		name     string
		app      string // chooser digit for an admin: 4 Who, 5 Admin
		header   string
		attached string // on the watcher's screen once bob is in
		detached string // once bob has left
	}{
		{name: "admin", app: "5", header: "APPS", attached: "bobwork          attached", detached: "bobwork          detached"},
		{name: "who", app: "4", header: "SESSIONS", attached: "bob              1         attached", detached: "bob              1         detached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			if err := e.mgr.Start(context.Background()); err != nil { // the fan-out
				t.Fatal(err)
			}
			root := sessions.User{Name: "root", Admin: true}
			w := e.serve(e.mgr, root, info("10.0.0.9:1", 100, 24), "new", "console")
			w.waitFor(" root · console")
			w.send("\x02c" + tt.app)
			w.waitFor(tt.header)
			w.waitFor("root")
			b := e.serve(e.mgr, bob, info("10.0.0.2:2", 80, 24), "new", "bobwork")
			b.waitFor(" bob · bobwork")
			w.waitFor(tt.attached)
			b.send("\x02d")
			b.waitDone()
			w.waitFor(tt.detached)
		})
	}
}
