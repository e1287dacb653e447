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

	"github.com/charmbracelet/x/term"

	"termhost/admin"
	"termhost/auth"
	"termhost/persist"
)

// userUsage is each user subcommand's usage; "" is all of them.
var userUsage = map[string]string{
	"add":    "usage: termhost user add NAME [--admin] [--key FILE|KEYTEXT]... [--password-stdin]\nwith neither --key nor --password-stdin, asks for a password twice on the terminal\n",
	"list":   "usage: termhost user list [--json]\n",
	"del":    "usage: termhost user del NAME\ndeletes the account and everything it owns; a running server ends its live sessions\n",
	"passwd": "usage: termhost user passwd NAME [--password-stdin]\nwithout --password-stdin, asks for the new password twice on the terminal\n",
	"key":    "usage: termhost user key add|del NAME FILE|KEYTEXT\n",
}

var userAliases = map[string]string{"ls": "list", "rm": "del"}

// userVerbs are the user subcommands in the order help lists them.
var userVerbs = []string{"add", "list", "del", "passwd", "key"}

// userFlags are each subcommand's own flags; every one also takes
// commonFlags.
var userFlags = map[string][]string{"add": {"admin", "key", "password-stdin"}, "list": {"json"}, "passwd": {"password-stdin"}}

var commonFlags = []string{"config", "data-dir", "store"}

// userFlagHelp is the --help of `user VERB`: its usage and its own flags;
// for no known verb, every subcommand's usage and flags (issue 9: the
// subcommands shared one merged help). The common flags come last.
func userFlagHelp(verb string, fs *flag.FlagSet) string {
	if v, ok := userAliases[verb]; ok {
		verb = v
	}
	verbs := []string{verb}
	if _, ok := userUsage[verb]; !ok {
		verbs = userVerbs
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for i, v := range verbs {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprint(tw, userUsage[v])
		writeFlags(tw, fs, userFlags[v])
	}
	fmt.Fprint(tw, "\ncommon flags:\n")
	writeFlags(tw, fs, commonFlags)
	tw.Flush()
	return b.String()
}

// foreignFlag is a flag set on the command line that verb does not take
// (`user del --json`), "" if none: the subcommands share one flag set.
func foreignFlag(verb string, fs *flag.FlagSet) string {
	if v, ok := userAliases[verb]; ok {
		verb = v
	}
	bad := ""
	fs.Visit(func(fl *flag.Flag) {
		if bad == "" && !slices.Contains(userFlags[verb], fl.Name) && !slices.Contains(commonFlags, fl.Name) {
			bad = fl.Name
		}
	})
	return bad
}

// writeFlags lists the named flags of fs, one a line with its usage.
func writeFlags(b io.Writer, fs *flag.FlagSet, names []string) {
	for _, name := range names {
		if fl := fs.Lookup(name); fl != nil {
			arg, usage := flag.UnquoteUsage(fl)
			if arg != "" {
				arg = " " + arg
			}
			fmt.Fprintf(b, "  --%s%s\t%s\n", name, arg, usage)
		}
	}
}

func userHelp(verb string) string {
	if v, ok := userAliases[verb]; ok {
		verb = v
	}
	if u, ok := userUsage[verb]; ok {
		return u
	}
	var b strings.Builder
	for _, v := range []string{"add", "list", "del", "passwd", "key"} {
		b.WriteString(userUsage[v])
	}
	return b.String()
}

// userCmd manages accounts directly in the store; it works with or without
// a running server (SQLite in WAL mode takes both). Deleting a user goes
// through a running server, whose live sessions of that user must end.
// The store must exist: only serve creates one.
func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var admin, pwStdin, asJSON bool
	var keys multiFlag
	cfg, pos, fs, err := resolve("user", args, false, func(fs *flag.FlagSet) {
		fs.BoolVar(&admin, "admin", false, "make the user an admin")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.Var(&keys, "key", "public key `file` or authorized_keys text, repeatable")
	})
	verb := ""
	if len(pos) > 0 {
		verb = pos[0]
	}
	if errors.Is(err, flag.ErrHelp) || (err == nil && len(pos) == 1 && pos[0] == "help") {
		fmt.Fprint(stdout, userFlagHelp(verb, fs))
		return 0
	}
	if err != nil {
		return failResolve(err, userHelp(verb), fs, stdout, stderr)
	}
	n, ok := map[string]int{"add": 2, "list": 1, "ls": 1, "del": 2, "rm": 2, "passwd": 2, "key": 4}[verb]
	if !ok || len(pos) < n || (verb != "key" && len(pos) != n) || (verb == "key" && pos[1] != "add" && pos[1] != "del") {
		fmt.Fprint(stderr, userHelp(verb))
		return 2
	}
	if bad := foreignFlag(verb, fs); bad != "" {
		fmt.Fprintf(stderr, "error: --%s is not a flag of user %s\n%s", bad, verb, userHelp(verb))
		return 2
	}
	var prompt func(string) (string, error)
	if verb == "passwd" && !pwStdin {
		if prompt = terminalPrompt(stdin, stderr); prompt == nil {
			fmt.Fprintf(stderr, "error: standard input is not a terminal: pass --password-stdin\n%s", userHelp("passwd"))
			return 2
		}
	}
	if verb == "add" && !pwStdin && len(keys) == 0 {
		// An account without a key or a password cannot log in: ask for a
		// password on a terminal, refuse otherwise (issue 9).
		if prompt = terminalPrompt(stdin, stderr); prompt == nil {
			fmt.Fprintf(stderr, "error: %v\n%s", errNoCredential, userHelp("add"))
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer store.Close()
	u := userOps{store: store, stdin: stdin, stdout: stdout, prompt: prompt}
	switch verb {
	case "add":
		err = u.add(ctx, pos[1], admin, keys, pwStdin)
	case "list", "ls":
		err = u.list(ctx, asJSON)
	case "del", "rm":
		err = deleteUser(ctx, filepath.Join(cfg.DataDir, "admin.sock"), store, pos[1], stdout, stderr)
	case "passwd":
		err = u.passwd(ctx, pos[1])
	case "key":
		err = u.key(ctx, pos[1], pos[2], strings.Join(pos[3:], " "))
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return 1
	}
	return 0
}

// terminalPrompt asks on the terminal with echo off when stdin is one, and
// returns nil otherwise.
func terminalPrompt(stdin io.Reader, stderr io.Writer) func(string) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return nil
	}
	return func(label string) (string, error) {
		fmt.Fprint(stderr, label)
		pw, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(stderr)
		return string(pw), err
	}
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
	// prompt, when set, asks for a password on the terminal (user passwd
	// without --password-stdin; user add with neither --key nor
	// --password-stdin).
	prompt func(label string) (string, error)
}

// errNoCredential refuses `user add` with neither a key nor a password.
var errNoCredential = errors.New("give --key or --password-stdin (an account without either cannot log in)")

// errMismatch means the two passwords typed at the prompt differ.
var errMismatch = errors.New("the passwords do not match; nothing changed")

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
			return fmt.Errorf("--key: %w", err)
		}
		rec.Keys = append(rec.Keys, norm)
	}
	switch {
	case pwStdin:
		h, err := u.readPassword()
		if err != nil {
			return err
		}
		rec.PasswordHash = h
	case u.prompt != nil:
		h, err := u.askPassword()
		if err != nil {
			return err
		}
		rec.PasswordHash = h
	case len(rec.Keys) == 0:
		return errNoCredential
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
	if _, err := u.store.GetUser(ctx, name); err != nil {
		return err
	}
	var h string
	var err error
	if u.prompt != nil {
		h, err = u.askPassword()
	} else {
		h, err = u.readPassword()
	}
	if err != nil {
		return err
	}
	ended, err := auth.SetPasswordHash(ctx, u.store, name, h)
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "password of %s changed; its web sign-ins have ended (%d stored)\n", name, ended)
	return nil
}

// askPassword asks for the new password twice through u.prompt.
func (u userOps) askPassword() (string, error) {
	pw, err := u.prompt("New password: ")
	if err != nil {
		return "", err
	}
	if err := auth.CheckNewPassword(pw); err != nil {
		return "", err
	}
	again, err := u.prompt("Repeat the new password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errMismatch
	}
	return auth.HashPassword(pw)
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
	if err := auth.CheckNewPassword(pw); err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}

// readKey accepts a path to a public key file or the key text itself. A
// single word that is no readable file is a path that failed ("no such
// file"): key text always has a space between its type and its data.
func readKey(arg string) (string, error) {
	data, err := os.ReadFile(arg)
	switch {
	case err == nil:
		arg = string(data)
	case !strings.ContainsAny(strings.TrimSpace(arg), " \t"):
		return "", err
	}
	return auth.ParseKey(arg)
}
