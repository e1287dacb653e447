package sessions_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"termhost/persist"
	"termhost/sessions"
)

// Deleting a user (SPEC §7) ends their sessions at once, however they are
// held, tells every client why, writes nothing of them afterwards (not
// even changes typed just before), removes their sessions, documents and
// last workspace, and a new account of the same name starts empty. Other
// users are untouched.
func TestDeleteUser(t *testing.T) {
	tests := []struct {
		name    string
		clients int                                       // alice's clients at the moment of deletion
		hold    func(e *env, c *client) *sessions.Manager // leaves the session as the case says; returns the manager that deletes
		live    int                                       // sessions DeleteUser reports ended
	}{
		{"attached", 1, func(e *env, c *client) *sessions.Manager { return e.mgr }, 1},
		{"shared by two clients", 2, func(e *env, c *client) *sessions.Manager { return e.mgr }, 1},
		{"detached in memory", 0, func(e *env, c *client) *sessions.Manager {
			c.send("\x02d")
			c.waitDone()
			return e.mgr
		}, 1},
		{"hibernated in the store", 0, func(e *env, c *client) *sessions.Manager {
			e.mgr.Shutdown(context.Background(), "restart")
			c.waitDone()
			m := e.newManager()
			if err := m.Start(context.Background()); err != nil {
				e.t.Fatal(err)
			}
			return m
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, testPolicy())
			for _, name := range []string{"alice", "bob"} {
				if err := e.store.CreateUser(ctx, persist.User{Name: name, Role: persist.RoleUser}); err != nil {
					t.Fatal(err)
				}
			}
			doc, err := e.store.CreateDocument(ctx, persist.Document{Owner: "alice", Title: "diary", Body: "alice's secret"})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.PutLastWorkspace(ctx, "alice", persist.Seal([]byte("{}"))); err != nil {
				t.Fatal(err)
			}
			c := e.attach()
			id := e.only(alice).ID
			c.send("flushed secret")
			c.waitFor("flushed secret")
			e.clock.Advance(e.policy.FlushDelay)
			var clients []*client
			if tt.clients > 0 {
				clients = append(clients, c)
			}
			if tt.clients > 1 {
				c2 := e.serve(e.mgr, alice, info("10.0.0.2:1002", 80, 24), "attach", "1", "--shared")
				c2.waitFor("flushed secret")
				e.settle(e.mgr, "10.0.0.2:1002")
				clients = append(clients, c2)
			}
			if tt.clients > 0 {
				c.send(" unsaved") // dirty, its write armed: it must never land
				c.waitFor("flushed secret unsaved")
			}
			m := tt.hold(e, c)
			b := e.serve(m, bob, info("10.0.0.3:1003", 80, 24))
			b.waitFor(" bob · ")
			e.settle(m, "10.0.0.3:1003")

			n, err := m.DeleteUser(ctx, e.store, "alice", "operator")
			if err != nil || n != tt.live {
				t.Fatalf("DeleteUser = %d, %v; want %d live session(s) ended", n, err, tt.live)
			}
			for _, cl := range clients {
				cl.waitDone()
				cl.waitFor("[session 1 ended: " + sessions.AccountDeleted + "]")
			}
			for range 5 {
				e.clock.Advance(e.policy.FlushDelay)
			}
			if snaps := e.snapshots(id); len(snaps) != 0 {
				t.Errorf("%d snapshot(s) of the deleted user's session remain or were written after the delete", len(snaps))
			}
			if _, err := e.store.GetSession(ctx, id); !errors.Is(err, persist.ErrNotFound) {
				t.Errorf("GetSession of the deleted user's session: %v, want not found", err)
			}
			if _, err := e.store.GetDocument(ctx, "alice", doc.ID); !errors.Is(err, persist.ErrNotFound) {
				t.Errorf("GetDocument of the deleted user's document: %v, want not found", err)
			}
			if _, err := e.store.LastWorkspace(ctx, "alice"); !errors.Is(err, persist.ErrNotFound) {
				t.Errorf("LastWorkspace of the deleted user: %v, want not found", err)
			}
			if infos, _ := m.List(ctx, "alice", ""); len(infos) != 0 {
				t.Errorf("List(alice) after delete = %d sessions, want 0", len(infos))
			}

			// Bob keeps working.
			b.send("bob types on")
			b.waitFor("bob types on")

			// A new alice starts empty.
			if err := e.store.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
				t.Fatal(err)
			}
			again := e.serve(m, alice, info("10.0.0.4:1004", 80, 24))
			again.waitFor(" alice · 1")
			if strings.Contains(again.scr.Text(), "secret") {
				t.Errorf("the new alice sees the old one's workspace:\n%s", again.scr.Text())
			}
			infos, err := m.List(ctx, "alice", "")
			if err != nil || len(infos) != 1 || infos[0].ID == id {
				t.Errorf("the new alice's sessions = %+v, %v; want only a new one", infos, err)
			}
			if docs, _ := e.store.ListDocuments(ctx, "alice"); len(docs) != 0 {
				t.Errorf("the new alice has %d document(s) of the old one", len(docs))
			}
		})
	}
}

// Deleting a name without an account still reports it and sweeps up rows
// left under that name.
func TestDeleteUnknownUser(t *testing.T) {
	e := newEnv(t, testPolicy())
	ctx := context.Background()
	if _, err := e.store.CreateDocument(ctx, persist.Document{Owner: "ghost", Title: "left", Body: "behind"}); err != nil {
		t.Fatal(err)
	}
	n, err := e.mgr.DeleteUser(ctx, e.store, "ghost", "operator")
	if n != 0 || !errors.Is(err, persist.ErrNotFound) {
		t.Errorf("DeleteUser(ghost) = %d, %v; want 0 and not found", n, err)
	}
	if docs, _ := e.store.ListDocuments(ctx, "ghost"); len(docs) != 0 {
		t.Errorf("%d document(s) left under the deleted name", len(docs))
	}
}
