// Package admin holds the operator verbs of SPEC §3 ("sessions list|show|
// detach|kill|message") and the unix socket that carries them from the
// `termhost sessions` command to the running server. Admins reach the same
// Runner over SSH. Every action that changes something is audited.
package admin

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"termhost/persist"
	"termhost/sessions"
	"termhost/tui"
)

// Manager is the part of the session manager admins drive.
type Manager interface {
	List(ctx context.Context, owner, state string) ([]sessions.Info, error)
	Find(ctx context.Context, owner, ref string) (persist.Session, error)
	Show(ctx context.Context, id string) (sessions.Info, []persist.Event, error)
	Kill(ctx context.Context, id, actor string) error
	Detach(ctx context.Context, id, actor string) (int, error)
	Message(ctx context.Context, id, actor, text string) (int, error)
	Stats() sessions.Stats
	DeleteUser(ctx context.Context, accounts sessions.Accounts, name, actor string) (int, error)
}

// Runner executes admin verbs.
type Runner struct {
	Manager Manager
	Audit   persist.Audit
	Now     func() time.Time
	// Users deletes accounts for the socket's "user del" (see Local);
	// nil refuses it.
	Users sessions.Accounts
}

// Run executes args (starting with "sessions") on behalf of actor and
// returns the exit status.
func (r *Runner) Run(ctx context.Context, actor string, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sessions" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage(""))
		return 2
	}
	if HelpRequested(args) {
		fmt.Fprint(stdout, Usage(args[0]))
		return 0
	}
	var err error
	if v, ok := Lookup(args[0]); ok {
		err = v.run(r, ctx, actor, args[1:], stdout)
	} else {
		err = usageError(fmt.Sprintf("unknown verb %q (%s)", args[0], strings.Join(Names(), ", ")))
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}

// Usage is the usage text of one verb (aliases such as "ls" and "msg"
// name their verb), or of all of them for "" or an unknown verb, generated
// from Verbs. IDs are full ids or unique prefixes of at least 6 characters.
func Usage(verb string) string {
	if v, ok := Lookup(verb); ok {
		return "usage: " + v.Usage + "\n"
	}
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, v := range Verbs {
		b.WriteString("  " + v.Usage + "\n")
	}
	b.WriteString("ID is a session id or a unique prefix of at least 6 characters\n")
	return b.String()
}

// HelpRequested reports whether args (verb first) ask for help rather than
// for an action: the verb "help", or -h, --help or -help among the verb's
// flags. A message's text is never read as a flag.
func HelpRequested(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if args[0] == "help" {
		return true
	}
	scan := args
	if v, ok := Lookup(args[0]); ok && v.Text {
		scan = args[:min(len(args), 2)] // the verb and ID|--all; the rest is text
	}
	for _, a := range scan {
		switch a {
		case "-h", "--help", "-help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// states are the values --state accepts (persist's session states).
var states = []string{persist.StateAttached, persist.StateDetached, persist.StateHibernated, persist.StateEnded}

type usageError string

func (e usageError) Error() string { return string(e) }

func (r *Runner) list(ctx context.Context, _ string, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	user := fs.String("user", "", "")
	state := fs.String("state", "", "")
	if err := fs.Parse(args); err != nil {
		return usageError(Usage("list") + err.Error())
	}
	if *state != "" && !slices.Contains(states, *state) {
		return usageError(fmt.Sprintf("--state %q: want one of %s", *state, strings.Join(states, ", ")))
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("sessions list: unexpected argument %q", fs.Arg(0)))
	}
	infos, err := r.Manager.List(ctx, *user, *state)
	if err != nil {
		return err
	}
	if *asJSON {
		// Streamed: 100,000 sessions are ≈ 40 MB of JSON (issue 10).
		return sessions.WriteJSON(w, infos, r.Now())
	}
	sessions.WriteTable(w, infos, r.Now())
	return nil
}

func (r *Runner) show(ctx context.Context, _ string, args []string, w io.Writer) error {
	asJSON, rest := popFlag(args, "--json")
	if len(rest) != 1 {
		return usageError(strings.TrimSpace(Usage("show")))
	}
	rec, err := r.find(ctx, rest[0])
	if err != nil {
		return err
	}
	info, events, err := r.Manager.Show(ctx, rec.ID)
	if err != nil {
		return err
	}
	j := sessions.ToJSON([]sessions.Info{info}, r.Now())[0]
	if asJSON {
		return writeJSON(w, struct {
			sessions.JSONSession
			History []persist.Event `json:"history"`
		}{j, nonNil(events)})
	}
	sessions.WriteTable(w, []sessions.Info{info}, r.Now())
	fmt.Fprintln(w, "\nHISTORY")
	for _, e := range events {
		// Details carry names and admin messages: escaped (SPEC §4).
		fmt.Fprintf(w, "%s  %-10s %-10s %-22s %s\n", e.At.UTC().Format(time.RFC3339), e.Kind, tui.Printable(e.Actor), e.Remote, tui.Printable(e.Detail))
	}
	return nil
}

// oneSession parses the command line of a verb that acts on one session
// ("detach ID", "kill ID") and runs it.
func oneSession(verb string) func(*Runner, context.Context, string, []string, io.Writer) error {
	return func(r *Runner, ctx context.Context, actor string, args []string, w io.Writer) error {
		if len(args) != 1 {
			return usageError(strings.TrimSpace(Usage(verb)))
		}
		v, _ := Lookup(verb)
		return v.act(r, ctx, actor, args[0], "", w)
	}
}

// kill ends the session ref names, audited.
func (r *Runner) kill(ctx context.Context, actor, ref, _ string, w io.Writer) error {
	rec, err := r.find(ctx, ref)
	if err != nil {
		return err
	}
	err = r.Manager.Kill(ctx, rec.ID, actor)
	if err == nil {
		fmt.Fprintf(w, "killed %s (%s of %s)\n", rec.ID, rec.Name, rec.Owner)
	}
	r.audit(ctx, actor, "kill", rec.ID, errText(err))
	return err
}

// detach disconnects the clients of the session ref names, audited.
func (r *Runner) detach(ctx context.Context, actor, ref, _ string, w io.Writer) error {
	rec, err := r.find(ctx, ref)
	if err != nil {
		return err
	}
	if rec.State == persist.StateEnded {
		// Nothing to detach; "0 client(s)" would read as success.
		err = fmt.Errorf("session %s (%s of %s) has ended: %w", rec.ID, rec.Name, rec.Owner, sessions.ErrNoSession)
	} else {
		var n int
		n, err = r.Manager.Detach(ctx, rec.ID, actor)
		if err == nil {
			fmt.Fprintf(w, "detached %d client(s) from %s (%s of %s)\n", n, rec.ID, rec.Name, rec.Owner)
		}
	}
	r.audit(ctx, actor, "detach", rec.ID, errText(err))
	return err
}

// messageArgs parses "message ID|--all TEXT..." and runs it.
func (r *Runner) messageArgs(ctx context.Context, actor string, args []string, w io.Writer) error {
	all, rest := popFlag(args, "--all")
	if (all && len(rest) < 1) || (!all && len(rest) < 2) {
		return usageError(strings.TrimSpace(Usage("message")))
	}
	ref := ""
	if !all {
		ref, rest = rest[0], rest[1:]
	}
	return r.message(ctx, actor, ref, strings.Join(rest, " "), w)
}

// message shows text in the session ref names, or in every live session
// for ref "", audited.
func (r *Runner) message(ctx context.Context, actor, ref, text string, w io.Writer) error {
	id, target := "", "*"
	if ref != "" {
		rec, err := r.find(ctx, ref)
		if err != nil {
			return err
		}
		id, target = rec.ID, rec.ID
	}
	n, err := r.Manager.Message(ctx, id, actor, text)
	r.audit(ctx, actor, "message", target, text+errText(err))
	if err == nil {
		fmt.Fprintf(w, "message delivered to %d session(s)\n", n)
	}
	return err
}

func (r *Runner) stats(_ context.Context, _ string, args []string, w io.Writer) error {
	asJSON, rest := popFlag(args, "--json")
	if len(rest) != 0 {
		return usageError(strings.TrimSpace(Usage("stats")))
	}
	st := r.Manager.Stats()
	if asJSON {
		return writeJSON(w, st)
	}
	// The same numbers as /metrics' termhost_sessions and termhost_clients.
	fmt.Fprintf(w, "live sessions %d (attached %d, clients %d)\nheap %d KiB, runtime total %d KiB, goroutines %d\n",
		st.Live, st.Attached, st.Clients, st.HeapBytes>>10, st.TotalBytes>>10, st.Goroutines)
	if len(st.ClientsByTransport) > 0 {
		transports := make([]string, 0, len(st.ClientsByTransport))
		for t, n := range st.ClientsByTransport {
			transports = append(transports, fmt.Sprintf("%s %d", t, n))
		}
		sort.Strings(transports)
		fmt.Fprintf(w, "clients by transport: %s\n", strings.Join(transports, ", "))
	}
	return nil
}

// find resolves ref like Manager.Find, for any owner (admins).
func (r *Runner) find(ctx context.Context, ref string) (persist.Session, error) {
	return r.Manager.Find(ctx, "", ref)
}

func (r *Runner) audit(ctx context.Context, actor, action, target, detail string) {
	_ = r.Audit.AppendAudit(ctx, persist.AuditEntry{At: r.Now(), Actor: actor, Action: action, Target: target, Detail: detail})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " (failed: " + err.Error() + ")"
}

func popFlag(args []string, name string) (bool, []string) {
	found := false
	var rest []string
	for _, a := range args {
		if a == name {
			found = true
		} else {
			rest = append(rest, a)
		}
	}
	return found, rest
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
