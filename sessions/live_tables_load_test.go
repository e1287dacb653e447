package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
)

// The Admin table's APPS column on another node follows a tab opened in a
// session: the snapshot's record write announces what listings show
// (attack trial: the column stayed stale until "r").
func TestAdminTableFollowsApps(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)
	root := sessions.User{Name: "root", Admin: true}
	w := e.serve(b, root, info("10.0.0.9:1", 120, 24), "new", "console")
	w.waitFor(" root · console")
	w.send("\x02c5")
	w.waitFor("APPS")
	c := e.serve(a, bob, info("10.0.0.2:2", 80, 24), "new", "bobwork")
	c.waitFor(" bob · bobwork")
	e.clock.Advance(e.policy.FlushDelay) // the new session's first snapshot and record
	w.waitFor("bobwork")
	time.Sleep(listingsSettle) // past the refresh interval of node b
	c.send("\x02c4")           // a Who tab in bob's session
	c.waitFor("SESSIONS")
	e.clock.Advance(e.policy.FlushDelay) // its snapshot and record
	w.scr.WaitUntil(t, "bob's apps in node b's Admin table", wait, func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, "bobwork") && strings.Contains(line, "who") {
				return true
			}
		}
		return false
	})
}

// listingsSettle outlasts sessions.listingsEvery, so a test's next change
// is refreshed at once rather than folded.
const listingsSettle = 1100 * time.Millisecond

// Other nodes' session changes refresh an open table at most about once a
// second, and not at all while its session has no client (attack trial:
// a NOTIFY storm, or a node's logins once a second, kept a detached
// session's Admin table rereading the store back to back).
func TestRemoteChangesRefreshTablesAtMostOnceASecond(t *testing.T) {
	e := newEnv(t, testPolicy())
	st, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	counting := &flakyStore{Store: st}
	b := e.managerOn(counting)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	root := sessions.User{Name: "root", Admin: true}
	w := e.serve(b, root, info("10.0.0.9:1", 120, 24), "new", "console")
	w.waitFor(" root · console")
	w.send("\x02c5")
	w.waitFor("APPS")
	storm := func(d time.Duration) int {
		before := counting.counted(&counting.lists)
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if err := e.store.Notify(context.Background(), persist.SessionsChannel, "nodeX someid"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1200 * time.Millisecond) // a folded notice lands within a second
		return counting.counted(&counting.lists) - before
	}
	// 1.5 s of notices at 200/s while the table is shown: at most the first,
	// one per second after it, and one folded at the end.
	if n := storm(1500 * time.Millisecond); n < 1 || n > 4 {
		t.Errorf("%d table refreshes for 1.5 s of remote changes, want 1..4", n)
	}
	w.send("\x02d")
	w.waitDone()
	if n := storm(500 * time.Millisecond); n != 0 {
		t.Errorf("%d table refreshes in a session without clients, want 0", n)
	}
}
