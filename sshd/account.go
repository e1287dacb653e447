package sshd

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"charm.land/ssh"

	"termhost/auth"
	"termhost/sessions"
)

// ErrFixedAccount refuses a change to an account the config file defines.
var ErrFixedAccount = errors.New("this account comes from the server's config file (users:), which it cannot change: ask the operator to change it there")

// maxAnswer bounds one typed answer or key line, in bytes.
const maxAnswer = 16 << 10

// account runs the self-service verbs on the user's own account (issue 9):
// `passwd` and `keys list|add|del`. Admins manage others with `termhost
// user …`. It returns the exit status.
func (s *Server) account(ctx ssh.Context, sess ssh.Session, u sessions.User, args []string) int {
	if slices.ContainsFunc(args[1:], sessions.IsHelp) {
		fmt.Fprint(ptyText(sess), sessions.VerbUsage(args[0]))
		return 0
	}
	store, ok := s.cfg.Users.(auth.AccountStore)
	if !ok {
		fmt.Fprintln(sess.Stderr(), "error: this server cannot change accounts")
		return 1
	}
	changes := args[0] == "passwd" || len(args) >= 2 && args[1] != "list" && args[1] != "ls"
	if changes && s.cfg.FixedAccount != nil && s.cfg.FixedAccount(u.Name) {
		return fail(sess, fmt.Errorf("%s: %w", u.Name, ErrFixedAccount))
	}
	_, _, tty := sess.Pty()
	in := &answers{r: sess, w: sess.Stderr(), tty: tty}
	if tty {
		in.w = sess // the terminal: prompts go where the keys are typed
	}
	switch {
	case args[0] == "passwd" && len(args) == 1:
		rec, err := store.GetUser(ctx, u.Name)
		if err != nil {
			return fail(sess, err)
		}
		var old string
		if rec.PasswordHash != "" {
			if old, err = in.ask("Current password: "); err != nil {
				return fail(sess, err)
			}
		}
		pw, err := in.ask("New password: ")
		if err != nil {
			return fail(sess, err)
		}
		if err := auth.CheckNewPassword(pw); err != nil {
			return fail(sess, err) // said before the repeat is asked
		}
		again, err := in.ask("Repeat the new password: ")
		if err != nil {
			return fail(sess, err)
		}
		if again != pw {
			return fail(sess, errors.New("the new passwords did not match; nothing changed"))
		}
		req := auth.LoginRequest{Transport: "ssh", User: u.Name, Password: old, Remote: ctx.RemoteAddr()}
		if _, err := s.cfg.Auth.ChangePassword(ctx, store, req, pw); err != nil {
			return fail(sess, err)
		}
		s.cfg.Manager.DetachTransport(u.Name, "web", sessions.SignedOut) // open browser terminals too
		fmt.Fprintf(sess, "password of %s changed; its web sign-ins have ended\r\n", u.Name)
		return 0
	case args[0] == "keys" && (len(args) == 1 || (len(args) == 2 && (args[1] == "list" || args[1] == "ls"))):
		keys, err := auth.Keys(ctx, store, u.Name)
		if err != nil {
			return fail(sess, err)
		}
		// LF line ends: ptyText makes them CR LF on a pty (a CR inside a
		// tabwriter cell came out as CR CR LF).
		tw := tabwriter.NewWriter(ptyText(sess), 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "N\tTYPE\tFINGERPRINT\n")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", k.N, k.Type, k.Fingerprint)
		}
		tw.Flush()
		return 0
	case args[0] == "keys" && len(args) >= 2 && args[1] == "add":
		text := strings.Join(args[2:], " ")
		if text == "" {
			var err error
			if text, err = in.line(); err != nil {
				return fail(sess, err)
			}
		}
		fp, err := s.cfg.Auth.AddKey(ctx, store, u.Name, text)
		if err != nil {
			return fail(sess, err)
		}
		fmt.Fprintf(sess, "key %s added to %s\r\n", fp, u.Name)
		return 0
	case args[0] == "keys" && len(args) == 3 && (args[1] == "del" || args[1] == "rm"):
		fp, err := s.cfg.Auth.DeleteKey(ctx, store, u.Name, args[2])
		if err != nil {
			return fail(sess, err)
		}
		fmt.Fprintf(sess, "key %s deleted from %s\r\n", fp, u.Name)
		return 0
	case args[0] == "passwd":
		fmt.Fprint(sess.Stderr(), sessions.VerbUsage("passwd"))
		return 2
	}
	fmt.Fprint(sess.Stderr(), sessions.VerbUsage("keys"))
	return 2
}

func fail(sess ssh.Session, err error) int {
	fmt.Fprintf(sess.Stderr(), "error: %v\r\n", err)
	return 1
}

// answers reads answers from the client: on a pty, typed keys without
// echo (the client's terminal is raw, so nothing shows unless echoed);
// otherwise, lines of standard input.
type answers struct {
	r   io.Reader
	w   io.Writer // prompts: the terminal on a pty, else stderr
	tty bool
}

var errAborted = errors.New("aborted")

// ask prompts (on a pty) and reads one answer.
func (a *answers) ask(prompt string) (string, error) {
	if a.tty {
		fmt.Fprint(a.w, prompt)
		defer fmt.Fprint(a.w, "\r\n")
	}
	return a.line()
}

// line reads up to a CR or LF (at most maxAnswer bytes); backspace edits,
// ctrl+c and ctrl+d abort, end of input ends the last line.
func (a *answers) line() (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) <= maxAnswer {
		n, err := a.r.Read(one)
		if n == 1 {
			switch c := one[0]; {
			case c == '\r' || c == '\n':
				return string(b), nil
			case c == 3 || (c == 4 && a.tty):
				return "", errAborted
			case c == 0x7f || c == 8:
				if len(b) > 0 {
					b = b[:len(b)-1]
				}
			default:
				b = append(b, c)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				return string(b), nil
			}
			return "", fmt.Errorf("reading the answer: %w", err)
		}
	}
	return "", fmt.Errorf("answer longer than %d bytes", maxAnswer)
}
