package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
)

// TestCommandLineEdges: every command's --help prints its own usage on
// stdout and exits 0; bad values name their flag; commands other than
// serve never create a store (issue 9, "The command line").
func TestCommandLineEdges(t *testing.T) {
	withStore := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(withStore, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), persist.User{Name: "bob", Role: persist.RoleUser}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	tests := []struct {
		name     string
		args     []string
		store    bool // run against the data dir that has a store
		code     int
		stdout   []string
		stderr   []string
		noStdout string // must not appear on stdout
	}{
		{name: "version", args: []string{"version"}, stdout: []string{"termhost "}},
		{name: "serve help", args: []string{"serve", "--help"}, stdout: []string{"usage: termhost serve", "-idle-timeout"}},
		{name: "serve bad duration", args: []string{"serve", "--idle-timeout", "banana"}, code: 2, stderr: []string{"--idle-timeout", "banana"}},
		{name: "serve negative duration", args: []string{"serve", "--idle-timeout", "-5m"}, code: 2, stderr: []string{"--idle-timeout", "negative"}},
		{name: "serve stray argument", args: []string{"serve", "now"}, code: 2, stderr: []string{`"now"`}},
		{name: "user help", args: []string{"user", "--help"}, stdout: []string{"user add NAME", "user del NAME", "-password-stdin"}},
		{name: "user add help", args: []string{"user", "add", "--help"}, stdout: []string{"user add NAME", "-admin"}, noStdout: "user del"},
		{name: "user passwd help", args: []string{"user", "passwd", "-h"}, stdout: []string{"asks for the new password twice"}, noStdout: "user add"},
		{name: "user key help", args: []string{"user", "key", "--help"}, stdout: []string{"user key add|del NAME"}, noStdout: "user list"},
		{name: "user unknown flag", args: []string{"user", "list", "--colour"}, code: 2, stderr: []string{"-colour", "user list"}},
		{name: "sessions kill help", args: []string{"sessions", "kill", "--help"}, stdout: []string{"usage: termhost sessions kill ID"}},
		{name: "sessions help", args: []string{"sessions", "--help"}, stdout: []string{"termhost sessions list", "at least 6"}},
		{name: "logins help", args: []string{"logins", "--help"}, stdout: []string{"logins revoke", "-user"}},
		{name: "user list creates no store", args: []string{"user", "list"}, code: 1, stderr: []string{"no termhost store", "termhost serve"}},
		{name: "user add creates no store", args: []string{"user", "add", "carol", "--password-stdin"}, code: 1, stderr: []string{"no termhost store"}},
		{name: "logins list creates no store", args: []string{"logins", "list"}, code: 1, stderr: []string{"no termhost store"}},
		{name: "key file that is not there", args: []string{"user", "add", "carol", "--key", "/nonexistent.pub"}, store: true, code: 1,
			stderr: []string{"--key", "/nonexistent.pub", "no such file"}},
		{name: "key text that is no key", args: []string{"user", "key", "add", "bob", "ssh-ed25519", "AAAAnotakey"}, store: true, code: 1,
			stderr: []string{"error:"}},
		{name: "passwd without a terminal", args: []string{"user", "passwd", "bob"}, store: true, code: 2, stderr: []string{"--password-stdin"}},
		{name: "user list with a store", args: []string{"user", "list"}, store: true, stdout: []string{"bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tt.store {
				dir = withStore
			}
			for _, k := range []string{"SSH_ADDR", "TELNET_ADDR", "HTTP_ADDR", "METRICS_ADDR", "CONFIG"} {
				t.Setenv("TERMHOST_"+k, "")
			}
			var out, errOut bytes.Buffer
			code := Main(append(tt.args, "--data-dir", dir), strings.NewReader(""), &out, &errOut)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, tt.code, out.String(), errOut.String())
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			if tt.noStdout != "" && strings.Contains(out.String(), tt.noStdout) {
				t.Errorf("stdout has %q (another command's usage):\n%s", tt.noStdout, out.String())
			}
			if tt.code == 0 && errOut.Len() > 0 {
				t.Errorf("stderr of a success: %q", errOut.String())
			}
			if !tt.store {
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%v created %s (err %v)", tt.args, dir, err)
				}
			}
		})
	}
}

// TestPasswdPrompt: `user passwd NAME` on a terminal asks twice; a
// mismatch or an empty password changes nothing.
func TestPasswdPrompt(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		wantErr string
	}{
		{name: "twice the same", answers: []string{"n3w-secret", "n3w-secret"}},
		{name: "mismatch", answers: []string{"n3w-secret", "n3w-secreT"}, wantErr: "do not match"},
		{name: "empty", answers: []string{""}, wantErr: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "termhost.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.CreateUser(ctx, persist.User{Name: "bob", Role: persist.RoleUser, PasswordHash: "old"}); err != nil {
				t.Fatal(err)
			}
			var asked []string
			u := userOps{store: st, stdout: &bytes.Buffer{}, prompt: func(label string) (string, error) {
				asked = append(asked, label)
				if len(asked) > len(tt.answers) {
					return "", errors.New("asked too often")
				}
				return tt.answers[len(asked)-1], nil
			}}
			err = u.passwd(ctx, "bob")
			rec, _ := st.GetUser(ctx, "bob")
			if tt.wantErr == "" {
				if err != nil || rec.PasswordHash == "old" || len(asked) != 2 {
					t.Fatalf("passwd: %v, asked %q, hash changed %v", err, asked, rec.PasswordHash != "old")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || rec.PasswordHash != "old" {
				t.Errorf("passwd = %v, want %q and the old hash kept (changed: %v)", err, tt.wantErr, rec.PasswordHash != "old")
			}
		})
	}
}

// TestServePrintsPolicy: serve prints the effective policy at start, with
// the values the config resolved to.
func TestServePrintsPolicy(t *testing.T) {
	cfg := serveConfig(t, t.TempDir())
	cfg.MaxSessions, cfg.IdleTimeout = 3, 5*time.Minute
	_, out := startServeOut(t, cfg)
	for _, want := range []string{"policy: ", "idle_timeout=5m0s", "max_sessions_per_user=3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve's output lacks %q:\n%s", want, out)
		}
	}
}
