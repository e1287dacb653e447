package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
)

// TestLoginsCommand: `termhost logins list|revoke` against the store in
// the data dir, as an operator runs it next to a server.
func TestLoginsCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	hashes := map[string]string{}
	for _, l := range []struct{ token, user string }{{"a1", "alice"}, {"a2", "alice"}, {"b1", "bob"}} {
		h := sha256.Sum256([]byte(l.token))
		hashes[l.token] = hex.EncodeToString(h[:])
		err := st.CreateLogin(context.Background(), persist.Login{Hash: hashes[l.token], User: l.user, CreatedAt: now, LastSeen: now,
			IdleUntil: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour), Remote: "127.0.0.1:1", UserAgent: "Test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	logins := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(append(append([]string{"logins"}, args...), "--data-dir", dir), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	ids := func(user string) []string {
		t.Helper()
		args := []string{"list", "--json"}
		if user != "" {
			args = append(args, "--user", user)
		}
		code, out, errOut := logins(args...)
		if code != 0 {
			t.Fatalf("logins list: %d %s", code, errOut)
		}
		var got []struct{ ID, User string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("logins list --json: %v\n%s", err, out)
		}
		var out2 []string
		for _, g := range got {
			out2 = append(out2, g.ID)
		}
		return out2
	}
	if got := ids(""); len(got) != 3 {
		t.Fatalf("logins list: %v, want 3", got)
	}
	if strings.Contains(func() string { _, o, _ := logins("list"); return o }(), hashes["a1"]) {
		t.Fatal("logins list prints a whole token hash")
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		left  int
		alice int
	}{
		{"short id refused", []string{"revoke", "abc"}, 1, 3, 2},
		{"unknown id", []string{"revoke", "0000000000000000"}, 1, 3, 2},
		{"ids and --user together", []string{"revoke", hashes["a1"][:16], "--user", "alice"}, 1, 3, 2},
		{"one by id", []string{"revoke", hashes["a1"][:16]}, 0, 2, 1},
		{"every login of a user", []string{"revoke", "--user", "alice"}, 0, 1, 0},
		{"no verb", []string{}, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errOut := logins(tt.args...); code != tt.code {
				t.Fatalf("logins %v: %d, want %d\n%s%s", tt.args, code, tt.code, out, errOut)
			}
			if got, alice := ids(""), ids("alice"); len(got) != tt.left || len(alice) != tt.alice {
				t.Fatalf("after logins %v: %d logins (alice %d), want %d (alice %d)", tt.args, len(got), len(alice), tt.left, tt.alice)
			}
		})
	}
}
