package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/admin"
	"termhost/auth"
	"termhost/config"
	"termhost/hostkeys"
	"termhost/persist"
)

// The storage-less node (SPEC §10, `--store memory`): nothing is written
// to disk — no store file, no lock file, no host key files, no secrets
// dir. What it needs from outside comes from the config file (users,
// seal_keys) or from files already in the data dir (host keys), which may
// be read-only.

// storeMemory is the --store value of the storage-less node.
const storeMemory = "memory"

// inMemory reports whether cfg runs the storage-less node.
func inMemory(cfg config.Config) bool { return cfg.Store == storeMemory }

// ErrConfigUsers: the config file's users list cannot be loaded.
var ErrConfigUsers = errors.New("config users")

// loadConfigUsers stores the config file's users (SPEC §10: a
// storage-less node takes its users from the config file). They are only
// for the memory store: a durable store keeps accounts made with `termhost
// user add`, and two sources of truth would disagree. Each user needs a
// valid name, role user or admin, and at least one SSH key (authorized_keys
// text) or an argon2id password hash that parses (auth.CheckHash). Errors wrap ErrConfigUsers and name
// the user.
func loadConfigUsers(ctx context.Context, cfg config.Config, users persist.Users) error {
	if err := configUsersAllowed(cfg); err != nil || len(cfg.Users) == 0 {
		return err
	}
	for i, cu := range cfg.Users {
		u, err := configUser(cu)
		if err != nil {
			return fmt.Errorf("%w: users[%d] %q: %v", ErrConfigUsers, i, cu.Name, err)
		}
		if err := users.CreateUser(ctx, u); err != nil {
			if errors.Is(err, persist.ErrExists) {
				err = errors.New("listed twice")
			}
			return fmt.Errorf("%w: users[%d] %q: %v", ErrConfigUsers, i, cu.Name, err)
		}
	}
	return nil
}

// configUsersAllowed refuses a users list for any store but memory; serve
// checks it before it locks or opens anything, so a refused start leaves
// no database behind (newcomer trial).
func configUsersAllowed(cfg config.Config) error {
	if len(cfg.Users) > 0 && !inMemory(cfg) {
		return fmt.Errorf("%w: users in the config file are for store: memory only; with %s use `termhost user add`", ErrConfigUsers, storeName(cfg))
	}
	return nil
}

// fixedAccounts reports the config file's users on a storage-less node
// (their passwords and keys are the file's; sshd refuses to change them),
// nil otherwise.
func fixedAccounts(cfg config.Config) func(string) bool {
	if !inMemory(cfg) || len(cfg.Users) == 0 {
		return nil
	}
	names := make(map[string]bool, len(cfg.Users))
	for _, u := range cfg.Users {
		names[u.Name] = true
	}
	return func(name string) bool { return names[name] }
}

// configUserCreated is the creation time of every config user: fixed, so
// an account from the config file is the same account after a restart and
// its sealed login cookies (web_login: client binds them to the account's
// creation time, SPEC §10) still open.
var configUserCreated = time.Unix(0, 0).UTC()

// configUser checks one config user and turns it into an account.
func configUser(cu config.User) (persist.User, error) {
	u := persist.User{Name: cu.Name, Role: cu.Role, PasswordHash: cu.PasswordHash, CreatedAt: configUserCreated}
	if err := auth.ValidName(cu.Name); err != nil {
		return u, err
	}
	switch cu.Role {
	case "":
		u.Role = persist.RoleUser
	case persist.RoleUser, persist.RoleAdmin:
	default:
		return u, fmt.Errorf("role %q: want user or admin", cu.Role)
	}
	if cu.PasswordHash != "" {
		// Parsed now, as a login would (auth.CheckHash): a malformed hash
		// would otherwise start and then refuse every password of the user.
		if err := auth.CheckHash(cu.PasswordHash); err != nil {
			return u, fmt.Errorf("password_hash: want an argon2id PHC string as termhost hash-password prints ($argon2id$v=19$m=…): %w", err)
		}
	}
	for _, k := range cu.Keys {
		norm, err := auth.ParseKey(k)
		if err != nil {
			return u, fmt.Errorf("key %.40q: %w", k, err)
		}
		u.Keys = append(u.Keys, norm)
	}
	if len(u.Keys) == 0 && u.PasswordHash == "" {
		return u, errors.New("give keys or a password_hash: the account could not sign in")
	}
	return u, nil
}

// loadHostKeys returns the SSH host keys: the files in DATA/hostkeys,
// created at first start; in memory mode the files that exist there are
// used and nothing is written — a missing ed25519 key is generated in
// memory for this start only (clients then see a new host key after every
// restart: put a key file there to keep one; a read-only dir is fine).
func loadHostKeys(cfg config.Config, log *slog.Logger) ([]hostkeys.Key, error) {
	dir := filepath.Join(cfg.DataDir, "hostkeys")
	if !inMemory(cfg) {
		return hostkeys.LoadOrCreate(dir)
	}
	var keys []hostkeys.Key
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		signer, err := gossh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		keys = append(keys, hostkeys.Key{Path: path, Signer: signer})
	}
	if len(keys) > 0 {
		return keys, nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	log.Warn("store memory: no host key in the data dir; this start presents a new one (put ssh_host_ed25519_key in DATA/hostkeys to keep one)", "dir", dir)
	return []hostkeys.Key{{Signer: signer}}, nil
}

// listenAdmin opens the admin socket DATA/admin.sock, except in memory
// mode: a socket is a file too, and SPEC §10 says nothing is written (the
// permission bits of the data dir do not tell, since root may write a 0500
// dir). Admins of a memory node run the same commands over SSH (SPEC §3);
// the skip is logged, and the Closer is a no-op then. The path is "" when
// there is no socket.
func listenAdmin(cfg config.Config, r *admin.Runner, log *slog.Logger) (io.Closer, string, error) {
	if inMemory(cfg) {
		log.Info("store memory: no admin socket (nothing is written to disk); admins run the same commands over SSH")
		return nopCloser{}, "", nil
	}
	path := filepath.Join(cfg.DataDir, "admin.sock")
	sock, err := admin.ListenSocket(path, r, log)
	if err != nil {
		return nil, "", err
	}
	return sock, path, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// warnMemory logs what a memory node's configuration costs: server-side
// web logins (web_login: server keeps them in the store) end at every
// restart, so every browser signs in again before offering its ticket;
// accounts made by signup last until the restart; with neither config
// users nor signup nobody can sign in.
func warnMemory(cfg config.Config, log *slog.Logger) {
	if !inMemory(cfg) {
		return
	}
	if cfg.WebLogin != "client" {
		log.Warn("store memory with web_login: server: web sign-ins end at every restart; web_login: client keeps them in a sealed cookie")
	}
	switch {
	case len(cfg.Users) == 0 && !cfg.AllowSignup:
		log.Warn("store memory with no users in the config file and signup off: nobody can sign in")
	case cfg.AllowSignup:
		log.Warn("store memory with allow_signup: accounts made at login last until the restart; list lasting ones under users in the config file")
	}
}
