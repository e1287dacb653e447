package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"termhost/persist"
)

const loginsUsage = `usage: termhost logins list [--json] [--user U]
       termhost logins revoke ID... | --user U
`

// loginsCmd lists and revokes web logins (SPEC §9) in the store directly,
// with or without a running server: a revoked login is refused at its next
// request on every node, and its open terminals end at their next
// keep-alive. IDs are the first 16 hex digits of the token's hash.
func loginsCmd(args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	var user string
	cfg, pos, fs, err := resolve("logins", args, false, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.StringVar(&user, "user", "", "only this user's logins")
	})
	if err != nil {
		return failResolve(err, loginsUsage, fs, stdout, stderr)
	}
	if len(pos) == 1 && pos[0] == "help" {
		fmt.Fprint(stdout, flagHelp(loginsUsage, fs))
		return 0
	}
	if len(pos) == 0 || (pos[0] != "list" && pos[0] != "ls" && pos[0] != "revoke") {
		fmt.Fprint(stderr, loginsUsage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer store.Close()
	if pos[0] == "revoke" {
		err = revokeLogins(ctx, store, user, pos[1:], stdout)
	} else {
		err = listLogins(ctx, store, user, asJSON, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// loginJSON is one element of `logins list --json`.
type loginJSON struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	IdleUntil time.Time `json:"idle_until"`
	ExpiresAt time.Time `json:"expires_at"`
	Remote    string    `json:"remote_addr"`
	UserAgent string    `json:"user_agent"`
}

func listLogins(ctx context.Context, store persist.Logins, user string, asJSON bool, w io.Writer) error {
	all, err := store.ListLogins(ctx, user)
	if err != nil {
		return err
	}
	now := time.Now()
	out := []loginJSON{}
	for _, l := range all {
		if l.Expired(now) {
			continue
		}
		out = append(out, loginJSON{ID: l.ID(), User: l.User, CreatedAt: l.CreatedAt, LastSeen: l.LastSeen,
			IdleUntil: l.IdleUntil, ExpiresAt: l.ExpiresAt, Remote: l.Remote, UserAgent: l.UserAgent})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tSIGNED IN\tLAST SEEN\tEXPIRES\tFROM\tBROWSER")
	for _, l := range out {
		expires := l.ExpiresAt
		if l.IdleUntil.Before(expires) {
			expires = l.IdleUntil
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.User, l.CreatedAt.Local().Format(time.DateTime),
			now.Sub(l.LastSeen).Round(time.Second), expires.Local().Format(time.DateTime), l.Remote, shorten(l.UserAgent, 40))
	}
	return tw.Flush()
}

func revokeLogins(ctx context.Context, store persist.Store, user string, ids []string, w io.Writer) error {
	if (user == "") == (len(ids) == 0) {
		return errors.New("revoke takes login IDs or --user U (not both)")
	}
	if user != "" {
		// Sealed logins (web_login: client) end with a new login
		// generation; an account that is gone has none left anyway.
		u, err := store.GetUser(ctx, user)
		if err == nil {
			u.LoginGen++
			err = store.UpdateUser(ctx, u)
		}
		if err != nil && !errors.Is(err, persist.ErrNotFound) {
			return err
		}
		n, err := store.DeleteUserLogins(ctx, user)
		if err == nil {
			fmt.Fprintf(w, "revoked %d stored login(s) and every sealed login of %s\n", n, user)
		}
		return err
	}
	all, err := store.ListLogins(ctx, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if len(id) < 8 {
			return fmt.Errorf("login id %q: give at least 8 characters", id)
		}
		var match []persist.Login
		for _, l := range all {
			if strings.HasPrefix(l.Hash, strings.ToLower(id)) {
				match = append(match, l)
			}
		}
		if len(match) != 1 {
			return fmt.Errorf("login id %q matches %d logins: %w", id, len(match), persist.ErrNotFound)
		}
		if err := store.DeleteLogin(ctx, match[0].Hash); err != nil {
			return err
		}
		fmt.Fprintf(w, "revoked login %s of %s\n", match[0].ID(), match[0].User)
	}
	return nil
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
