package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"termhost/persist"
	"termhost/persist/sqlite"
)

// Without a running server, `user del` deletes in the store directly:
// the account and what it owns (SPEC §7).
func TestUserDelWithoutServer(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		code    int
		out     string
		errText string
	}{
		{"an account with data", "alice", 0, "deleted user alice (no server running)", ""},
		{"no such account", "nobody", 1, "", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(dir, "termhost.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
				t.Fatal(err)
			}
			doc, err := st.CreateDocument(ctx, persist.Document{Owner: "alice", Title: "t", Body: "b"})
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := Main([]string{"user", "del", tt.user, "--data-dir", dir}, strings.NewReader(""), &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.errText) {
				t.Fatalf("user del %s = %d, stdout %q, stderr %q; want %d, %q, %q", tt.user, code, out.String(), errOut.String(), tt.code, tt.out, tt.errText)
			}
			_, err = st.GetDocument(ctx, "alice", doc.ID)
			if gone := errors.Is(err, persist.ErrNotFound); gone != (tt.user == "alice") {
				t.Errorf("alice's document after deleting %s: %v", tt.user, err)
			}
		})
	}
}
