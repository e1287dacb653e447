package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/auth"
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

// `user add` with neither --key nor --password-stdin made an account
// nobody could log into (issue 9): without a terminal it is refused with
// exit 2 and nothing is created; with a key or a password it works.
func TestUserAddNeedsACredential(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keyText := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stderr   string
		created  bool
		wantHash bool
		wantKeys int
	}{
		{name: "neither key nor password", args: []string{"carol"}, code: 2,
			stderr: "give --key or --password-stdin (an account without either cannot log in)"},
		{name: "admin without either", args: []string{"carol", "--admin"}, code: 2, stderr: "give --key or --password-stdin"},
		{name: "password on stdin", args: []string{"carol", "--password-stdin"}, stdin: "long-enough\n", created: true, wantHash: true},
		{name: "short password on stdin", args: []string{"carol", "--password-stdin"}, stdin: "pw\n", code: 1, stderr: "passwords are at least 8 characters (this one has 2)"},
		{name: "a key", args: []string{"carol", "--key", keyText}, created: true, wantKeys: 1},
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
			var out, errOut bytes.Buffer
			args := append([]string{"user", "add"}, tt.args...)
			code := Main(append(args, "--data-dir", dir), strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.stderr) {
				t.Fatalf("user add = %d, stdout %q, stderr %q; want %d and %q", code, out.String(), errOut.String(), tt.code, tt.stderr)
			}
			u, err := st.GetUser(ctx, "carol")
			if created := err == nil; created != tt.created {
				t.Fatalf("carol created = %v (%v), want %v", created, err, tt.created)
			}
			if tt.created && ((u.PasswordHash != "") != tt.wantHash || len(u.Keys) != tt.wantKeys) {
				t.Errorf("carol: password %v, %d key(s); want %v, %d", u.PasswordHash != "", len(u.Keys), tt.wantHash, tt.wantKeys)
			}
		})
	}
}

// On a terminal, `user add NAME` alone asks for the password twice, as
// `user passwd` does; a mismatch or an empty answer creates nothing.
func TestUserAddAsksOnTerminal(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		wantErr error
	}{
		{name: "the same twice", answers: []string{"s3cret-long", "s3cret-long"}},
		{name: "a mismatch", answers: []string{"s3cret-long", "other"}, wantErr: errMismatch},
		{name: "too short, said before the repeat", answers: []string{"s3cret"}, wantErr: auth.ErrShortPassword},
		{name: "empty", answers: []string{""}, wantErr: auth.ErrNoPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "termhost.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var asked []string
			prompt := func(label string) (string, error) {
				asked = append(asked, label)
				if len(asked) > len(tt.answers) {
					return "", errors.New("asked too often")
				}
				return tt.answers[len(asked)-1], nil
			}
			var out bytes.Buffer
			u := userOps{store: st, stdin: strings.NewReader(""), stdout: &out, prompt: prompt}
			err = u.add(ctx, "carol", false, nil, false)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("add = %v, want %v", err, tt.wantErr)
			}
			rec, getErr := st.GetUser(ctx, "carol")
			if tt.wantErr != nil {
				if getErr == nil {
					t.Errorf("carol was created after %v", err)
				}
				return
			}
			if getErr != nil || rec.PasswordHash == "" {
				t.Fatalf("carol: %+v, %v; want an account with a password", rec, getErr)
			}
			if ok, _ := auth.VerifyPassword(rec.PasswordHash, "s3cret-long"); !ok {
				t.Errorf("the stored hash does not match the typed password")
			}
			if len(asked) != 2 {
				t.Errorf("asked %q, want the password twice", asked)
			}
		})
	}
}
