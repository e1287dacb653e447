package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/auth"
	"termhost/config"
	"termhost/internal/testterm"
	"termhost/persist/memory"
	"termhost/seal"
)

// tree lists every entry under dir with its mode, size and modification
// time: two equal trees mean nothing was written.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s %d %s\n", path, info.Mode(), info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var sshAddrRE = regexp.MustCompile(`ssh listening on (\S+)`)

// TestServeMemoryWritesNothing: `serve --store memory` on a read-only data
// dir starts, takes its user from the config file, serves an SSH login
// into a workspace, and leaves the data dir as it was (SPEC §10). The
// tree is compared, not only the permission bits: root writes into a
// 0500 dir all the same.
func TestServeMemoryWritesNothing(t *testing.T) {
	tests := []struct {
		name    string
		hostKey bool // a host key file is in the data dir: it is used, not rewritten
	}{
		{name: "empty data dir"},
		{name: "host key in the data dir", hostKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(filepath.Join(dir, "hostkeys"), 0o700); err != nil {
				t.Fatal(err)
			}
			var hostPub gossh.PublicKey
			if tt.hostKey {
				_, hk, _ := ed25519.GenerateKey(rand.Reader)
				block, err := gossh.MarshalPrivateKey(hk, "")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "hostkeys", "ssh_host_ed25519_key"), pemEncode(block), 0o600); err != nil {
					t.Fatal(err)
				}
				s, _ := gossh.NewSignerFromKey(hk)
				hostPub = s.PublicKey()
			}
			for _, d := range []string{filepath.Join(dir, "hostkeys"), dir} {
				if err := os.Chmod(d, 0o500); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700); os.Chmod(filepath.Join(dir, "hostkeys"), 0o700) })
			before := tree(t, dir)

			_, userKey, _ := ed25519.GenerateKey(rand.Reader)
			signer, _ := gossh.NewSignerFromKey(userKey)
			cfg := serveConfig(t, dir)
			cfg.Store = "memory"
			cfg.AllowSignup = false
			cfg.Users = []config.User{{Name: "alice", Keys: []string{string(gossh.MarshalAuthorizedKey(signer.PublicKey()))}}}
			memoryTestConfig(t, &cfg)
			stop, out := startServeOut(t, cfg)
			m := sshAddrRE.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no ssh address in:\n%s", out)
			}
			if strings.Contains(out.String(), "admin socket") {
				t.Errorf("memory mode announced an admin socket:\n%s", out)
			}
			hostCheck := gossh.InsecureIgnoreHostKey()
			if hostPub != nil {
				hostCheck = gossh.FixedHostKey(hostPub)
			}
			c, err := gossh.Dial("tcp", m[1], &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
				HostKeyCallback: hostCheck, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("ssh login as the config file's user: %v", err)
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
			scr := testterm.New(80, 24)
			defer scr.Close()
			in, _ := sess.StdinPipe()
			sess.Stdout, sess.Stderr = scr, io.Discard
			if err := sess.Shell(); err != nil {
				t.Fatal(err)
			}
			scr.WaitFor(t, "alice", wait) // the status bar of a workspace
			in.Write([]byte("typed into memory"))
			scr.WaitFor(t, "typed into memory", wait)
			// The config file's account is the file's: not changed over SSH.
			ks, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if out, err := ks.CombinedOutput("keys add " + string(gossh.MarshalAuthorizedKey(signer.PublicKey()))); err == nil || !strings.Contains(string(out), "config file") {
				t.Errorf("keys add on a config user: %v, %q; want a refusal naming the config file", err, out)
			}
			c.Close()
			if err := stop(); err != nil {
				t.Fatalf("serve: %v", err)
			}
			if after := tree(t, dir); after != before {
				t.Errorf("the data dir changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestConfigUsersRefused: the config file's users are checked at start,
// each error naming the user; and they are for the memory store only.
func TestConfigUsersRefused(t *testing.T) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := gossh.NewSignerFromKey(k)
	key := string(gossh.MarshalAuthorizedKey(s.PublicKey()))
	tests := []struct {
		name  string
		store string
		users []config.User
		want  string
	}{
		{name: "bad name", store: "memory", users: []config.User{{Name: "a b", Keys: []string{key}}}, want: `"a b"`},
		{name: "bad role", store: "memory", users: []config.User{{Name: "al", Role: "root", Keys: []string{key}}}, want: "role"},
		{name: "no credential", store: "memory", users: []config.User{{Name: "al"}}, want: "keys or a password_hash"},
		{name: "bad hash", store: "memory", users: []config.User{{Name: "al", PasswordHash: "secret"}}, want: "argon2id"},
		// Parsed at start (issue 12 finding 6): the prefix alone passed before.
		{name: "argon2id hash with bad params", store: "memory", users: []config.User{{Name: "al", PasswordHash: "$argon2id$v=19$m=lots$c2FsdHNhbHRzYWx0$a2V5"}}, want: "malformed password hash"},
		{name: "argon2id hash cut short", store: "memory", users: []config.User{{Name: "al", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0"}}, want: "malformed password hash"},
		{name: "bad key", store: "memory", users: []config.User{{Name: "al", Keys: []string{"ssh-ed25519 nope"}}}, want: "key"},
		{name: "twice", store: "memory", users: []config.User{{Name: "al", Keys: []string{key}}, {Name: "al", Keys: []string{key}}}, want: "listed twice"},
		{name: "not memory", store: "", users: []config.User{{Name: "al", Keys: []string{key}}}, want: "store: memory only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Store, cfg.Users = tt.store, tt.users
			st := memoryStoreForTest()
			err := loadConfigUsers(t.Context(), cfg, st)
			if !errors.Is(err, ErrConfigUsers) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrConfigUsers saying %q", err, tt.want)
			}
		})
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

func memoryStoreForTest() *memory.Store { return memory.New(nil) }

// memoryTestConfig completes a memory-mode configuration for tests: the
// seal keys it requires.
func memoryTestConfig(t *testing.T, cfg *config.Config) {
	t.Helper()
	k, err := seal.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg.SealKeys = []string{seal.FormatKey(k)}
}

// TestServeMemoryNeedsSealKeys: without seal_keys a memory node refuses to
// start, saying why, and still writes nothing.
func TestServeMemoryNeedsSealKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := serveConfig(t, dir)
	cfg.Store = "memory"
	err := run(t.Context(), cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, ErrMemoryNeedsKeys) || !strings.Contains(err.Error(), "seal_keys") {
		t.Fatalf("serve --store memory without seal_keys: %v, want ErrMemoryNeedsKeys", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data dir was made: %v", err)
	}
}

// TestMemoryStoreOnlyInServe: the memory store lives inside serve; the
// other commands say so instead of working on an empty store of their own.
func TestMemoryStoreOnlyInServe(t *testing.T) {
	cfg := config.Default()
	cfg.Store, cfg.DataDir = "memory", filepath.Join(t.TempDir(), "data")
	_, err := openStore(t.Context(), cfg, false)
	if !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), "over SSH") {
		t.Fatalf("openStore(memory) outside serve: %v, want ErrNoStore pointing to SSH", err)
	}
	if got := storeName(cfg); !strings.Contains(got, "memory") {
		t.Fatalf("storeName = %q", got)
	}
}

// TestHashPassword: hash-password prints what the config's users list
// takes, and the login path accepts it.
func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
	}{
		{name: "from stdin", stdin: "pw-alice\n", args: []string{"--password-stdin"}, code: 0},
		{name: "empty password", stdin: "\n", args: []string{"--password-stdin"}, code: 1},
		{name: "not a terminal", stdin: "pw\n", code: 2},
		{name: "stray argument", args: []string{"alice"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := Main(append([]string{"hash-password"}, tt.args...), strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errOut.String())
			}
			if code != 0 {
				return
			}
			h := strings.TrimSpace(out.String())
			u, err := configUser(config.User{Name: "alice", PasswordHash: h})
			if err != nil {
				t.Fatalf("the config refuses the printed hash: %v", err)
			}
			if ok, err := auth.VerifyPassword(u.PasswordHash, "pw-alice"); !ok || err != nil {
				t.Fatalf("the printed hash does not verify pw-alice: %v %v", ok, err)
			}
		})
	}
}

// TestServeRefusesConfigUsersBeforeOpening: a users list with a durable
// store is refused before anything is locked or opened, so the refused
// start leaves no database behind (newcomer trial).
func TestServeRefusesConfigUsersBeforeOpening(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Users = []config.User{{Name: "al", Keys: []string{"ssh-ed25519 AAAA"}}}
	err := run(t.Context(), cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, ErrConfigUsers) {
		t.Fatalf("run with config users on SQLite: %v, want ErrConfigUsers", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused start left %d file(s) in the data dir: %v", len(entries), entries)
	}
}
