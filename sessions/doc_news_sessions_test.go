package sessions_test

import (
	"context"
	"testing"
)

// TestDocNewsReachOtherSessions: a document renamed in one session is
// renamed in the Notes tab of the user's other session at once, and that
// tab's next save keeps the rename with no conflict (issue 9).
func TestDocNewsReachOtherSessions(t *testing.T) {
	e := newEnv(t, testPolicy())
	if err := e.mgr.Start(context.Background()); err != nil { // the fan-out
		t.Fatal(err)
	}
	b := e.serve(e.mgr, alice, info("10.0.0.1:1", 80, 24), "new", "b")
	b.waitFor(" alice · b")
	b.send("draft text\x13") // ctrl+s: a new document "untitled"
	b.waitFor("saved untitled")
	a := e.serve(e.mgr, alice, info("10.0.0.1:2", 80, 24), "new", "a")
	a.waitFor(" alice · a")
	a.send("\x02c2") // Documents
	a.waitFor(" v1") // the list has arrived
	a.send("r" + "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f" + "renamed\r")
	a.waitFor("renamed                        v2")
	b.waitFor("1:renamed")
	b.send(" more\x13")
	b.waitFor("saved renamed")
}
