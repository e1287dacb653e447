package admin_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"termhost/admin"
	"termhost/persist"
	"termhost/sessions"
)

// "user del" over the admin socket ends the user's live sessions at once
// (their client is told why), removes the account and is audited; over
// Run (what SSH admins reach) user verbs do not exist.
func TestSocketUserDelete(t *testing.T) {
	tests := []struct {
		name     string
		local    bool // over the socket (Local) rather than Run
		args     []string
		code     int
		out, err string
		gone     bool // alice's account and session are gone afterwards
	}{
		{"del over the socket", true, []string{"user", "del", "alice"}, 0, "deleted user alice: 1 live session(s) ended", "", true},
		{"unknown user", true, []string{"user", "del", "carol"}, 1, "", `no user "carol"`, false},
		{"other user verbs stay in the CLI", true, []string{"user", "add", "carol"}, 2, "", "usage: user del NAME", false},
		{"not over SSH", false, []string{"sessions", "user", "del", "alice"}, 2, "", "unknown verb", false},
		{"not over SSH without the sessions word", false, []string{"user", "del", "alice"}, 2, "", "unknown verb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.runner.Users = w.store
			ctx := context.Background()
			if err := w.store.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			var code int
			if tt.local {
				code, _ = admin.Call(listen(t, w), tt.args, &out, &errOut)
			} else {
				code = w.runner.Run(ctx, "root", tt.args, &out, &errOut)
			}
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.err) {
				t.Fatalf("%v = %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, out.String(), errOut.String(), tt.code, tt.out, tt.err)
			}
			_, errUser := w.store.GetUser(ctx, "alice")
			_, errSession := w.store.GetSession(ctx, w.alice)
			if gone := errUser != nil && errSession != nil; gone != tt.gone {
				t.Fatalf("alice gone = %v (user: %v, session: %v), want %v", gone, errUser, errSession, tt.gone)
			}
			if !tt.gone {
				return
			}
			w.screen.WaitFor(t, sessions.AccountDeleted, wait)
			if log := w.audit(t); len(log) == 0 || log[0].Actor != "operator" || log[0].Action != "user del" || log[0].Target != "alice" {
				t.Errorf("audit = %+v, want the operator's user del of alice first", log)
			}
			if _, err := w.store.GetSession(ctx, w.bob); err != nil {
				t.Errorf("bob's session after alice's deletion: %v", err)
			}
		})
	}
}
