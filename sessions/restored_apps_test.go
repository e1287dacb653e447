package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"termhost/persist"
)

// Issue 8 item 1: apps of a workspace that came back (woken from
// hibernation, after a restart, from the last workspace) were built without
// the workspace's callbacks: "n", a title and Enter in Documents panicked
// with the session's lock held (the node wedged), Enter on a document did
// nothing and ctrl+s in Notes never said "saved". Each way back must give
// apps that work like new ones.
func TestRestoredAppsWorkLikeNewOnes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// away leaves the session (Documents focused) and returns the
		// client of the way back.
		away func(e *env, c *client) *client
	}{
		{"woken after hibernation", func(e *env, c *client) *client {
			c.send("\x02d")
			c.waitDone()
			e.clock.Advance(5 * time.Second) // hibernate_after 3s, as in the report
			e.mgr.Sweep(ctx)
			if in := e.only(alice); in.Live || in.State != persist.StateHibernated {
				e.t.Fatalf("live=%v state=%s, want hibernated", in.Live, in.State)
			}
			return e.attach()
		}},
		{"restored after a restart", func(e *env, c *client) *client {
			e.mgr.Shutdown(ctx, "[server shutting down]")
			c.waitDone()
			e.mgr = e.newManager()
			if err := e.mgr.Start(ctx); err != nil {
				e.t.Fatal(err)
			}
			return e.attach()
		}},
		{"from the last workspace", func(e *env, c *client) *client {
			c.send("\x02qy")
			c.waitDone()
			return e.attach()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy()
			p.HibernateAfter = 3 * time.Second
			e := newEnv(t, p)
			c := e.attach()
			c.send("\x02c2") // Documents
			c.waitFor("No documents yet")

			c = tc.away(e, c)
			c.waitFor("No documents yet")
			c.send("n")
			c.waitFor("New document title:")
			c.send("plan\r")
			c.waitFor("3:plan") // a Notes tab on the new document
			c.send("step one\x13")
			c.waitFor("saved plan")
			docs, err := e.store.ListDocuments(ctx, "alice")
			if err != nil || len(docs) != 1 || docs[0].Title != "plan" || docs[0].Body != "step one" {
				t.Fatalf("stored documents = %+v, %v; want plan with its text", docs, err)
			}

			c.send("\x022") // back to Documents: Enter opens the document
			c.waitFor("v2")
			c.send("\r")
			c.waitFor("4:plan")
			c.waitFor("step one")
			if got := c.scr.Text(); strings.Contains(got, "crashed") {
				t.Errorf("an app crashed:\n%s", got)
			}
		})
	}
}
