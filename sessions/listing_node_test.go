package sessions

import (
	"strings"
	"testing"
	"time"

	"termhost/persist"
)

// In a cluster the text table says which node runs each session, as the
// JSON's "node" does (newcomer trial: only --json showed it).
func TestTableShowsTheNode(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	WriteTable(&b, []Info{{Session: persist.Session{ID: "abcdefghijklmnop", Owner: "alice", Name: "work", State: persist.StateAttached, Node: "node2", LastInputAt: now}}}, now)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "NODE") || !strings.Contains(lines[1], "node2") {
		t.Fatalf("table:\n%s", b.String())
	}
}
