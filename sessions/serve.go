package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// Serve runs one interactive connection for u: no args attaches (one
// session), picks (several) or creates (none); "attach [NAME|ID]
// [--shared]" and "new [NAME]" do as they say. It returns when the client
// leaves; the caller then closes the transport.
func (m *Manager) Serve(ctx context.Context, conn Conn, info ClientInfo, u User, args []string) error {
	verb, rest := "", []string(nil)
	if len(args) > 0 {
		verb, rest = args[0], args[1:]
	}
	if verb == "attach" || verb == "a" {
		if target, shared, err := attachArgs(rest); err == nil && shared && target != "" {
			if node, id := m.sharedElsewhere(ctx, u, target); node != "" {
				m.log.Info("forwarding a shared attach", "session", id, "owner", node, "user", u.Name, "remote", info.Remote)
				return m.forward.Forward(ctx, node, conn, info, u, id)
			}
		}
	}
	var s *Session
	var shared bool
	var err error
	c := newClient(conn, info, m.clock.Now())
	c.out.watch(m.obs, time.Now())
	defer c.stopKeys()
	switch verb {
	case "":
		s, err = m.defaultSession(ctx, c, u)
	case "attach", "a":
		var target string
		if target, shared, err = attachArgs(rest); err != nil {
			break
		}
		s, err = m.attachTarget(ctx, c, u, target)
	case "new":
		var name string
		if name, err = newArgs(rest); err != nil {
			break
		}
		s, err = m.Create(ctx, u, name)
	default:
		err = fmt.Errorf("unknown command %q (try: help)", verb)
	}
	if err == nil && s != nil {
		err = s.attach(c, shared)
	}
	if err != nil || s == nil {
		msg := ""
		if err != nil {
			msg = "error: " + err.Error()
			if e, ok := conn.(ExitConn); ok {
				code := 1 // `ssh -t host attach nosuch` fails in a script
				if errors.Is(err, ErrUsage) {
					code = 2
				}
				e.SetExit(code)
			}
		}
		c.farewell(msg)
		<-c.out.done
		return err
	}
	log := m.log.With("transport", info.Transport, "remote", info.Remote, "user", u.Name, "session", s.ID())
	log.Info("attached", "shared", shared)
	m.pump(s, c)
	log.Info("connection ended")
	return nil
}

// ExitConn is a Conn whose protocol carries an exit status (SSH). Serve
// sets 1 before it closes the connection over an error (no such session,
// a name in use), so the client's command fails; the status is 0
// otherwise.
type ExitConn interface {
	Conn
	SetExit(code int)
}

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

func (m *Manager) attachTarget(ctx context.Context, c *Client, u User, ref string) (*Session, error) {
	if ref == "" {
		return m.defaultSession(ctx, c, u)
	}
	rec, err := m.Find(ctx, u.Name, ref)
	if err != nil {
		return nil, err
	}
	return m.wake(ctx, rec.ID, u, c.info.Remote)
}

// defaultSession attaches the only session, asks when there are several,
// and creates one when there are none.
func (m *Manager) defaultSession(ctx context.Context, c *Client, u User) (*Session, error) {
	recs, err := m.store.ListSessions(ctx, persist.SessionFilter{Owner: u.Name})
	if err != nil {
		return nil, err
	}
	switch len(recs) {
	case 0:
		return m.Create(ctx, u, "")
	case 1:
		return m.wake(ctx, recs[0].ID, u, c.info.Remote)
	}
	id, err := m.pick(ctx, c, u)
	if err != nil || id == "" {
		return nil, err
	}
	if id == "new" {
		return m.Create(ctx, u, "")
	}
	return m.wake(ctx, id, u, c.info.Remote)
}

// pick shows the session picker and returns a session id, "new", or "".
func (m *Manager) pick(ctx context.Context, c *Client, u User) (string, error) {
	infos, err := m.List(ctx, u.Name, "")
	if err != nil {
		return "", err
	}
	p := &tui.Picker{User: u.Name}
	now := m.clock.Now()
	for _, in := range infos {
		var apps []string
		for _, a := range in.Apps {
			apps = append(apps, a.App)
		}
		p.Items = append(p.Items, tui.PickItem{ID: in.ID, Name: in.Name, State: in.State,
			LastActive: ago(now.Sub(in.LastInputAt)), Apps: strings.Join(apps, ",")})
	}
	draw := func() { c.draw(p.View(c.width, c.height), nil, c.width, c.height) }
	draw()
	keys := c.keys(m.clock, &m.input)
	for {
		events, _, err := keys.next()
		for _, ev := range events {
			switch p.Update(ev) {
			case tui.PickChosen:
				return p.Selected().ID, nil
			case tui.PickNew:
				return "new", nil
			case tui.PickQuit:
				return "", nil
			}
		}
		draw()
		if err != nil {
			return "", nil
		}
	}
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// pump feeds a client's input and resizes to its session until the
// connection ends, then detaches the client.
func (m *Manager) pump(s *Session, c *Client) {
	done := make(chan struct{})
	defer close(done)
	if c.info.Resizes != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case size, ok := <-c.info.Resizes:
					if !ok {
						return
					}
					s.resize(c, size)
				}
			}
		}()
	}
	keys := c.keys(m.clock, &m.input)
	for {
		events, read, err := keys.next()
		if len(events) > 0 {
			c.out.inputRead(read)
			s.input(c, events)
			c.out.inputDone()
		}
		if err != nil {
			break
		}
	}
	s.detachClient(c, "", s.rec.Owner, c.info.Remote, "disconnect")
	<-c.out.done
}

// Usage lines of the user verbs over SSH (SPEC §9), printed by `VERB
// --help` (exit 0) and after a usage error (exit 2). passwd, keys and
// weblink are run by the sshd package but listed here so `help` shows
// every verb.
const (
	AttachUsage  = "usage: attach [--shared] [NAME|ID]   (attach to a session; --shared joins as another client)\n"
	NewUsage     = "usage: new [NAME]   (create a session and attach to it)\n"
	LsUsage      = "usage: ls [--json]   (list your sessions)\n"
	KillUsage    = "usage: kill NAME|ID   (end one of your sessions)\n"
	HelpUsage    = "usage: help   (list the commands)\n"
	WeblinkUsage = "usage: weblink [SESSION]   (print a one-time link that signs a browser in)\n"
)

// HelpText is what `ssh host help` prints: every user verb.
const HelpText = `usage: ssh [-t] HOST [COMMAND [ARGS]]
commands (each takes --help):
  (none)                 attach to your session, pick one or create one (needs -t)
  attach [--shared] [S]  attach to session S (needs -t)
  new [NAME]             create a session and attach to it (needs -t)
  ls [--json]            list your sessions
  kill NAME|ID           end one of your sessions
  passwd                 change your password
  keys list|add|del      list, add or delete your public keys
  weblink [SESSION]      print a one-time browser sign-in link
  help                   this list
  sessions ...           session administration (admins only)
`

// ErrUsage marks a command line that does not fit its verb's usage; the
// caller prints the usage and exits 2.
var ErrUsage = errors.New("usage")

// IsHelp reports whether arg asks for help ("-h", "-help", "--help").
func IsHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// wantsHelp reports whether any of args asks for help. Session names
// cannot look like flags, so "-h" is never a name.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if IsHelp(a) {
			return true
		}
	}
	return false
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
	usage := ""
	var err error
	switch args[0] {
	case "attach", "a":
		usage = AttachUsage
		_, _, err = attachArgs(args[1:])
	case "new":
		usage = NewUsage
		_, err = newArgs(args[1:])
	default:
		return 0, false
	}
	if wantsHelp(args[1:]) {
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	if err != nil {
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
	usageErr := func(usage, format string, a ...any) int {
		fmt.Fprintf(stderr, "error: "+format+"\n%s", append(a, usage)...)
		return 2
	}
	rest := args[1:]
	switch args[0] {
	case "help":
		if len(rest) > 0 && !wantsHelp(rest) {
			return usageErr(HelpUsage, "help takes no arguments, got %q", rest)
		}
		fmt.Fprint(stdout, HelpText)
		return 0
	case "ls", "list":
		if wantsHelp(rest) {
			fmt.Fprint(stdout, LsUsage)
			return 0
		}
		asJSON := false
		for _, a := range rest {
			switch {
			case a == "--json" || a == "-json":
				asJSON = true
			case strings.HasPrefix(a, "-"):
				return usageErr(LsUsage, "ls: unknown flag %s", a)
			default:
				return usageErr(LsUsage, "ls takes no arguments, got %q", a)
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
	case "kill":
		switch {
		case wantsHelp(rest):
			fmt.Fprint(stdout, KillUsage)
			return 0
		case len(rest) == 0:
			return usageErr(KillUsage, "kill needs a session name or id")
		case len(rest) > 1:
			return usageErr(KillUsage, "kill takes one session, got extra %q", rest[1:])
		case strings.HasPrefix(rest[0], "-"):
			return usageErr(KillUsage, "kill: unknown flag %s", rest[0])
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
	if code, done := CheckInteractive(args, stdout, stderr); done {
		return code
	}
	fmt.Fprintf(stderr, "unknown command %q (try: help)\n", args[0])
	return 2
}

// IsInteractive reports whether a verb needs a terminal.
func IsInteractive(args []string) bool {
	return len(args) == 0 || args[0] == "attach" || args[0] == "a" || args[0] == "new"
}
