package sessions_test

import (
	"context"
	"testing"
)

// TestDocNewsFromAnotherSession: a rename or a delete made in the user's
// other session — in its Documents app, with the first session attached
// or detached meanwhile — reaches the open Notes tab of the first at once,
// before any save, and that tab's next ctrl+s does the right thing: keeps
// the new title with no conflict, or saves the text as a new document
// (issue 9; TestDocNewsReachOpenTabs has the same-session cases).
func TestDocNewsFromAnotherSession(t *testing.T) {
	tests := []struct {
		name     string
		keys     string // in the other session's Documents, on the one document
		detached bool   // the first session is detached while it happens
		shown    string // on the first session's screen, before any save
		saved    string // after its ctrl+s
		title    string // the stored title of the text the first session saved
	}{
		{name: "rename", keys: "r\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7frenamed\r", shown: "1:renamed", saved: "saved renamed", title: "renamed"},
		{name: "delete", keys: "Dyes\r", shown: "was deleted: ctrl+s saves this text as a new document", saved: "saved as new document untitled", title: "untitled"},
		{name: "rename while detached", keys: "r\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7frenamed\r", detached: true, shown: "1:renamed", saved: "saved renamed", title: "renamed"},
		{name: "delete while detached", keys: "Dyes\r", detached: true, shown: "1:untitled*", saved: "saved as new document untitled", title: "untitled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, testPolicy())
			if err := e.mgr.Start(ctx); err != nil { // the fan-out
				t.Fatal(err)
			}
			b := e.serve(e.mgr, alice, info("10.0.0.1:1", 80, 24), "new", "b")
			b.waitFor(" alice · b")
			b.send("draft text\x13") // ctrl+s: a new document "untitled"
			b.waitFor("saved untitled")
			if tt.detached {
				b.send("\x02d")
				b.waitDone()
			}

			a := e.serve(e.mgr, alice, info("10.0.0.1:2", 80, 24), "new", "a")
			a.waitFor(" alice · a")
			a.send("\x02c2") // Documents
			a.waitFor(" v1") // the list has arrived
			a.send(tt.keys)
			if tt.name == "delete" || tt.name == "delete while detached" {
				a.waitFor("No documents yet")
			} else {
				a.waitFor("renamed                        v2")
			}

			if tt.detached {
				b = e.serve(e.mgr, alice, info("10.0.0.1:3", 80, 24), "attach", "b")
				b.waitFor(" alice · b")
			}
			b.waitFor(tt.shown)
			b.send(" more\x13")
			b.waitFor(tt.saved)
			docs, err := e.store.ListDocuments(ctx, "alice")
			if err != nil || len(docs) != 1 {
				t.Fatalf("documents %+v, %v; want the one the first session saved", docs, err)
			}
			if docs[0].Title != tt.title || docs[0].Body != "draft text more" {
				t.Errorf("stored %q: %q, want %q: %q", docs[0].Title, docs[0].Body, tt.title, "draft text more")
			}
		})
	}
}
