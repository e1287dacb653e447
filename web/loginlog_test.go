package web_test

import (
	"strings"
	"testing"

	"termhost/persist"
)

// TestWebLoginFailedLogLine: the web's own "web login failed" line carries
// transport=web and the remote address like every line about a connection
// (SPEC §11).
func TestWebLoginFailedLogLine(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.browser().signIn("alice", "wrong", "/")
	var line string
	for _, l := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(l, `msg="web login failed"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no web login failed line in the log:\n%s", e.log.String())
	}
	for _, want := range []string{"transport=web", "remote=", "user=alice"} {
		if !strings.Contains(line, want) {
			t.Errorf("web login failed line lacks %s: %s", want, line)
		}
	}
}
