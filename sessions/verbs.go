package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// VerbKind says who carries a user verb out.
type VerbKind int

const (
	// VerbCommand verbs print and exit: Manager.Command runs them.
	VerbCommand VerbKind = iota
	// VerbInteractive verbs need a terminal: Manager.Serve runs them,
	// after CheckInteractive has answered --help and bad command lines.
	VerbInteractive
	// VerbAccount verbs act on the caller's own account or login and are
	// run by the transport that holds what they need (sshd: passwd, keys,
	// weblink).
	VerbAccount
	// VerbAdmin is the "sessions ..." group: admin.Verbs, admins only.
	VerbAdmin
)

// Verb is one user verb of SPEC §3/§9, declared once: sshd routes a
// command line by Kind, Command and CheckInteractive parse through it,
// and `help` and every "usage:" line are generated from it. The admin
// verbs under "sessions" are the admin package's table (admin.Verbs),
// which the admin socket and the web API use too.
type Verb struct {
	Name    string // "" is the bare connection (no command)
	Aliases []string
	// Usage is the usage line without "usage: " (VerbUsage adds it).
	Usage string
	// Synopsis and Summary are the verb's line in `help`.
	Synopsis, Summary string
	Kind              VerbKind
	// AdminOnly verbs are refused to users who are not admins.
	AdminOnly bool
	// check parses an interactive verb's arguments (after the verb); a
	// bad command line is an error wrapping ErrUsage.
	check func(args []string) error
	// run carries out a VerbCommand verb; it returns the exit status.
	run func(m *Manager, ctx context.Context, u User, v Verb, args []string, stdout, stderr io.Writer) int
}

// Verbs is every user verb, in the order `help` lists them. It is filled
// in init because `help` prints a text generated from it.
var Verbs []Verb

func init() {
	Verbs = []Verb{
		{Name: "", Synopsis: "(none)", Summary: "attach to your session, pick one or create one (needs -t)", Kind: VerbInteractive,
			check: func([]string) error { return nil }},
		{Name: "attach", Aliases: []string{"a"}, Usage: "attach [--shared] [NAME|ID]   (attach to a session; --shared joins as another client)",
			Synopsis: "attach [--shared] [S]", Summary: "attach to session S (needs -t)", Kind: VerbInteractive,
			check: func(args []string) error { _, _, err := attachArgs(args); return err }},
		{Name: "new", Usage: "new [NAME]   (create a session and attach to it)",
			Synopsis: "new [NAME]", Summary: "create a session and attach to it (needs -t)", Kind: VerbInteractive,
			check: func(args []string) error { _, err := newArgs(args); return err }},
		{Name: "ls", Aliases: []string{"list"}, Usage: "ls [--json]   (list your sessions)",
			Synopsis: "ls [--json]", Summary: "list your sessions", run: (*Manager).lsVerb},
		{Name: "kill", Usage: "kill NAME|ID   (end one of your sessions)",
			Synopsis: "kill NAME|ID", Summary: "end one of your sessions", run: (*Manager).killVerb},
		{Name: "passwd", Usage: "passwd   (asks for the current password, if any, then the new one twice; on a pipe, one answer a line)",
			Synopsis: "passwd", Summary: "change your password", Kind: VerbAccount},
		{Name: "keys", Usage: "keys list | keys add [KEYTEXT] (or the key on stdin) | keys del N|FINGERPRINT",
			Synopsis: "keys list|add|del", Summary: "list, add or delete your public keys", Kind: VerbAccount},
		{Name: "weblink", Usage: "weblink [SESSION]   (print a one-time link that signs a browser in)",
			Synopsis: "weblink [SESSION]", Summary: "print a one-time browser sign-in link", Kind: VerbAccount},
		{Name: "help", Usage: "help   (list the commands)", Synopsis: "help", Summary: "this list", run: (*Manager).helpVerb},
		{Name: "sessions", Usage: "sessions VERB ...   (session administration, admins only; sessions --help lists the verbs)",
			Synopsis: "sessions ...", Summary: "session administration (admins only)", Kind: VerbAdmin, AdminOnly: true},
	}
}

// LookupVerb finds a user verb by name or alias ("" is the bare
// connection).
func LookupVerb(name string) (Verb, bool) {
	for _, v := range Verbs {
		if v.Name == name || slices.Contains(v.Aliases, name) {
			return v, true
		}
	}
	return Verb{}, false
}

// VerbUsage is the "usage: ..." line of the verb name (or alias), with a
// newline; "" for an unknown verb.
func VerbUsage(name string) string {
	v, ok := LookupVerb(name)
	if !ok || v.Usage == "" {
		return ""
	}
	return "usage: " + v.Usage + "\n"
}

// HelpText is what `ssh host help` prints: every user verb, from Verbs.
func HelpText() string {
	var b strings.Builder
	b.WriteString("usage: ssh [-t] HOST [COMMAND [ARGS]]\ncommands (each takes --help):\n")
	for _, v := range Verbs {
		fmt.Fprintf(&b, "  %-22s %s\n", v.Synopsis, v.Summary)
	}
	return b.String()
}

// ErrUsage marks a command line that does not fit its verb's usage; the
// caller prints the usage and exits 2.
var ErrUsage = errors.New("usage")

// IsHelp reports whether arg asks for help ("-h", "-help", "--help").
func IsHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// wantsHelp reports whether any of args asks for help. Session names
// cannot look like flags, so "-h" is never a name.
func wantsHelp(args []string) bool { return slices.ContainsFunc(args, IsHelp) }

// reorderFlags lets "--shared" follow the positional argument.
func reorderFlags(args []string) []string {
	var flags, pos []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

// attachArgs parses `attach [--shared] [NAME|ID]`; a bad flag or a second
// name is an error wrapping ErrUsage.
func attachArgs(rest []string) (target string, shared bool, err error) {
	fs := flag.NewFlagSet("attach", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&shared, "shared", false, "join as another client")
	if err := fs.Parse(reorderFlags(rest)); err != nil {
		return "", false, fmt.Errorf("attach: %v: %w", err, ErrUsage)
	}
	if fs.NArg() > 1 {
		return "", false, fmt.Errorf("attach takes one session, got extra %q: %w", fs.Args()[1:], ErrUsage)
	}
	return fs.Arg(0), shared, nil
}

// newArgs parses `new [NAME]`; a flag or a second name is an error
// wrapping ErrUsage (`new a b` used to create "a" silently).
func newArgs(rest []string) (string, error) {
	switch {
	case len(rest) == 0:
		return "", nil
	case len(rest) > 1:
		return "", fmt.Errorf("new takes one name, got extra %q: %w", rest[1:], ErrUsage)
	case strings.HasPrefix(rest[0], "-"):
		return "", fmt.Errorf("new: unknown flag %s: %w", rest[0], ErrUsage)
	}
	return rest[0], nil
}

// CheckInteractive answers an interactive verb's (attach, new) --help or
// bad command line without a terminal or attaching: usage on stdout and 0
// for help, the error and usage on stderr and 2 otherwise. done is false
// when the verb should go on to Serve.
func CheckInteractive(args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		return 0, false
	}
	v, ok := LookupVerb(args[0])
	if !ok || v.Kind != VerbInteractive {
		return 0, false
	}
	usage := VerbUsage(v.Name)
	if wantsHelp(args[1:]) {
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	if err := v.check(args[1:]); err != nil {
		fmt.Fprintf(stderr, "error: %s\n%s", strings.TrimSuffix(err.Error(), ": "+ErrUsage.Error()), usage)
		return 2, true
	}
	return 0, false
}

// Command runs a non-interactive user verb ("ls [--json]", "kill NAME|ID",
// "help") and returns the exit status: 0 done or help shown, 1 failed, 2
// a command line that does not fit the verb (SPEC §9).
func (m *Manager) Command(ctx context.Context, u User, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return 2
	}
	if v, ok := LookupVerb(args[0]); ok && v.run != nil {
		return v.run(m, ctx, u, v, args[1:], stdout, stderr)
	}
	if code, done := CheckInteractive(args, stdout, stderr); done {
		return code
	}
	fmt.Fprintf(stderr, "unknown command %q (try: help)\n", args[0])
	return 2
}

// usageErr prints a usage error and v's usage; it returns 2.
func usageErr(stderr io.Writer, v Verb, format string, a ...any) int {
	fmt.Fprintf(stderr, "error: "+format+"\n%s", append(a, VerbUsage(v.Name))...)
	return 2
}

func (m *Manager) helpVerb(_ context.Context, _ User, v Verb, rest []string, stdout, stderr io.Writer) int {
	if len(rest) > 0 && !wantsHelp(rest) {
		return usageErr(stderr, v, "help takes no arguments, got %q", rest)
	}
	fmt.Fprint(stdout, HelpText())
	return 0
}

func (m *Manager) lsVerb(ctx context.Context, u User, v Verb, rest []string, stdout, stderr io.Writer) int {
	if wantsHelp(rest) {
		fmt.Fprint(stdout, VerbUsage(v.Name))
		return 0
	}
	asJSON := false
	for _, a := range rest {
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case strings.HasPrefix(a, "-"):
			return usageErr(stderr, v, "ls: unknown flag %s", a)
		default:
			return usageErr(stderr, v, "ls takes no arguments, got %q", a)
		}
	}
	infos, err := m.List(ctx, u.Name, "")
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	if asJSON {
		b, _ := json.MarshalIndent(ToJSON(infos, m.clock.Now()), "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	WriteTable(stdout, infos, m.clock.Now())
	return 0
}

func (m *Manager) killVerb(ctx context.Context, u User, v Verb, rest []string, stdout, stderr io.Writer) int {
	switch {
	case wantsHelp(rest):
		fmt.Fprint(stdout, VerbUsage(v.Name))
		return 0
	case len(rest) == 0:
		return usageErr(stderr, v, "kill needs a session name or id")
	case len(rest) > 1:
		return usageErr(stderr, v, "kill takes one session, got extra %q", rest[1:])
	case strings.HasPrefix(rest[0], "-"):
		return usageErr(stderr, v, "kill: unknown flag %s", rest[0])
	}
	rec, err := m.Find(ctx, u.Name, rest[0])
	if err == nil {
		err = m.Kill(ctx, rec.ID, u.Name)
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	fmt.Fprintf(stdout, "killed session %s (%s)\n", rec.Name, rec.ID)
	return 0
}

// IsInteractive reports whether a verb needs a terminal.
func IsInteractive(args []string) bool {
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	v, ok := LookupVerb(name)
	return ok && v.Kind == VerbInteractive
}
