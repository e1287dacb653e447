package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"termhost/admin"
	"termhost/auth"
	"termhost/persist"
)

// userCmd manages accounts directly in the store; it works with or without
// a running server (SQLite in WAL mode takes both). Deleting a user goes
// through a running server, whose live sessions of that user must end.
func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var admin, pwStdin, asJSON bool
	var keys multiFlag
	cfg, pos, err := resolve("user", args, false, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&admin, "admin", false, "make the user an admin")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.Var(&keys, "key", "public key file or authorized_keys text (repeatable)")
	})
	if err != nil {
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer store.Close()
	u := userOps{store: store, stdin: stdin, stdout: stdout}
	switch {
	case pos[0] == "add" && len(pos) == 2:
		err = u.add(ctx, pos[1], admin, keys, pwStdin)
	case (pos[0] == "list" || pos[0] == "ls") && len(pos) == 1:
		err = u.list(ctx, asJSON)
	case (pos[0] == "del" || pos[0] == "rm") && len(pos) == 2:
		err = deleteUser(ctx, filepath.Join(cfg.DataDir, "admin.sock"), store, pos[1], stdout, stderr)
	case pos[0] == "passwd" && len(pos) == 2 && pwStdin:
		err = u.passwd(ctx, pos[1])
	case pos[0] == "key" && len(pos) >= 4 && (pos[1] == "add" || pos[1] == "del"):
		err = u.key(ctx, pos[1], pos[2], strings.Join(pos[3:], " "))
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return 1
	}
	return 0
}

// errReported means the server already printed the error.
var errReported = errors.New("reported by the server")

// deleteUser deletes name with everything it owns (SPEC §7). With a server
// running, its admin socket does it so the user's live sessions end at
// once; without one, the store does. No socket means no live sessions: the
// server opens it before it accepts any connection.
func deleteUser(ctx context.Context, sock string, store persist.Users, name string, stdout, stderr io.Writer) error {
	code, err := admin.Call(sock, []string{"user", "del", name}, stdout, stderr)
	switch {
	case err == nil && code == 0:
		return nil
	case err == nil:
		return errReported
	case !errors.Is(err, admin.ErrNoServer):
		return err
	}
	if err := store.DeleteUser(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted user %s (no server running)\n", name)
	return nil
}

type userOps struct {
	store  persist.Users
	stdin  io.Reader
	stdout io.Writer
}

func (u userOps) add(ctx context.Context, name string, admin bool, keys []string, pwStdin bool) error {
	if err := auth.ValidName(name); err != nil {
		return err
	}
	rec := persist.User{Name: name, Role: persist.RoleUser}
	if admin {
		rec.Role = persist.RoleAdmin
	}
	for _, k := range keys {
		norm, err := readKey(k)
		if err != nil {
			return err
		}
		rec.Keys = append(rec.Keys, norm)
	}
	if pwStdin {
		h, err := u.readPassword()
		if err != nil {
			return err
		}
		rec.PasswordHash = h
	}
	if err := u.store.CreateUser(ctx, rec); err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "added %s (%s)\n", name, rec.Role)
	return nil
}

func (u userOps) list(ctx context.Context, asJSON bool) error {
	users, err := u.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		Keys      int    `json:"keys"`
		Password  bool   `json:"password"`
		CreatedAt string `json:"created_at"`
	}
	rows := make([]row, 0, len(users))
	for _, x := range users {
		rows = append(rows, row{x.Name, x.Role, len(x.Keys), x.PasswordHash != "", x.CreatedAt.UTC().Format(time.RFC3339)})
	}
	if asJSON {
		enc := json.NewEncoder(u.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(u.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tKEYS\tPASSWORD\tCREATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\n", r.Name, r.Role, r.Keys, r.Password, r.CreatedAt)
	}
	return tw.Flush()
}

func (u userOps) passwd(ctx context.Context, name string) error {
	rec, err := u.store.GetUser(ctx, name)
	if err != nil {
		return err
	}
	if rec.PasswordHash, err = u.readPassword(); err != nil {
		return err
	}
	return u.store.UpdateUser(ctx, rec)
}

func (u userOps) key(ctx context.Context, verb, name, text string) error {
	rec, err := u.store.GetUser(ctx, name)
	if err != nil {
		return err
	}
	norm, err := readKey(text)
	if err != nil {
		return err
	}
	has := slices.Contains(rec.Keys, norm)
	switch {
	case verb == "add" && has:
		return nil
	case verb == "add":
		rec.Keys = append(rec.Keys, norm)
	case !has:
		return fmt.Errorf("%s has no such key: %w", name, persist.ErrNotFound)
	default:
		rec.Keys = slices.DeleteFunc(rec.Keys, func(k string) bool { return k == norm })
	}
	return u.store.UpdateUser(ctx, rec)
}

func (u userOps) readPassword() (string, error) {
	line, err := bufio.NewReader(io.LimitReader(u.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", auth.ErrNoPassword
	}
	return auth.HashPassword(pw)
}

// readKey accepts a path to a public key file or the key text itself.
func readKey(arg string) (string, error) {
	if data, err := os.ReadFile(arg); err == nil {
		arg = string(data)
	}
	return auth.ParseKey(arg)
}
