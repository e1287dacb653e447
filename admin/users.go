package admin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"termhost/persist"
)

// Local runs a request that came over the admin socket: the operator's
// user verbs ("user del NAME"), which need the running server so that live
// sessions end at once, and every "sessions …" verb. Admins over SSH reach
// only Run, so user verbs stay local (SPEC §3: they are CLI commands).
func (r *Runner) Local(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const actor = "operator"
	if len(args) == 0 || (args[0] != "user" && args[0] != "users") {
		return r.Run(ctx, actor, args, stdout, stderr)
	}
	if len(args) != 3 || (args[1] != "del" && args[1] != "rm") {
		fmt.Fprintln(stderr, "usage: user del NAME (other user verbs work on the store directly)")
		return 2
	}
	if err := r.deleteUser(ctx, actor, args[2], stdout); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// deleteUser ends the user's live sessions and removes the account and
// what it owns (SPEC §7), audited.
func (r *Runner) deleteUser(ctx context.Context, actor, name string, w io.Writer) error {
	if r.Users == nil {
		return errors.New("this server cannot delete users")
	}
	n, err := r.Manager.DeleteUser(ctx, r.Users, name, actor)
	detail := fmt.Sprintf("%d live session(s) ended", n)
	r.audit(ctx, actor, "user del", name, detail+errText(err))
	if errors.Is(err, persist.ErrNotFound) {
		return fmt.Errorf("no user %q (anything left under that name was removed): %w", name, persist.ErrNotFound)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "deleted user %s: %s\n", name, detail)
	return nil
}
