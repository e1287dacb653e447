package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"termhost/persist"
	"termhost/persist/sqlite"
)

// TestLoginsRevokeUserBumpsGeneration: `logins revoke --user U` also ends
// U's sealed logins (web_login: client, SPEC §10) by moving the login
// generation on, as "sign out everywhere" does; an unknown user is no error.
func TestLoginsRevokeUserBumpsGeneration(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	tests := []struct {
		name string
		user string
		code int
		gen  int64 // alice's generation after
	}{
		{"alice", "alice", 0, 1},
		{"again", "alice", 0, 2},
		{"unknown user", "nobody", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Main([]string{"logins", "revoke", "--user", tt.user, "--data-dir", dir}, nil, &out, &errOut); code != tt.code {
				t.Fatalf("logins revoke --user %s: %d %s", tt.user, code, errOut.String())
			}
			st, err := sqlite.Open(ctx, filepath.Join(dir, "termhost.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.GetUser(ctx, "alice")
			if err != nil || u.LoginGen != tt.gen {
				t.Fatalf("alice's LoginGen = %d (%v), want %d", u.LoginGen, err, tt.gen)
			}
		})
	}
}
