package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"charm.land/ssh"

	"termhost/persist"
	"termhost/sessions"
)

// MaxCommand is the longest command line, in bytes, an SSH client may
// send (SPEC §7: oversized fields get a clear error). Every verb fits in a
// few hundred bytes; a longer one is refused with exit status 1.
const MaxCommand = 4 << 10

// handle runs one authenticated session channel.
func (s *Server) handle(sess ssh.Session) {
	ctx := sess.Context()
	s.authenticated(ctx)
	if c := connOf(ctx); c != nil {
		c.sessionStarted()
		defer c.sessionEnded()
	}
	// Bounded before anything splits it: Command() parses with go-shlex,
	// which is quadratic (one 240 KB word cost 9.8 s of CPU).
	if n := len(sess.RawCommand()); n > MaxCommand {
		fmt.Fprintf(sess.Stderr(), "command too long: %d bytes, at most %d\r\n", n, MaxCommand)
		sess.Exit(1)
		return
	}
	// On a pty (ssh -t) the client's terminal is raw: every line of a
	// command's output must end in CR LF or it stair-steps (issue 9:
	// `ssh -t host ls`). stdout and stderr say so once, for every verb.
	stdout, stderr := ptyText(sess), ptyErr(sess)
	u, err := s.user(ctx)
	if err != nil {
		fmt.Fprintf(sess.Stderr(), "login failed: %v\r\n", err)
		sess.Exit(1)
		return
	}
	args := sess.Command()
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	// One table routes every verb (sessions.Verbs; its "sessions" group
	// is admin.Verbs, which the admin socket and the web API use too).
	verb, known := sessions.LookupVerb(name)
	// A login that created the account says so once per connection: in
	// the workspace's status bar when one opens (a line printed before it
	// vanishes with the alternate screen, issue 9), else on stderr.
	notice, welcomed := "", ""
	if role, ok := ctx.Value(newAccountKey).(string); ok {
		ctx.SetValue(newAccountKey, nil)
		_, _, tty := sess.Pty()
		if known && verb.Kind == sessions.VerbInteractive && tty {
			notice, welcomed = sessions.NewAccountNotice(u.Name, role == persist.RoleAdmin), welcome(u.Name, role)
		} else {
			fmt.Fprint(sess.Stderr(), welcome(u.Name, role))
		}
	}
	if known && verb.AdminOnly && !u.Admin {
		fmt.Fprintf(stderr, "permission denied: %q is an admin command and %s is not an admin\n", args[0], u.Name)
		sess.Exit(1)
		return
	}
	switch {
	case known && verb.Kind == sessions.VerbAdmin:
		sess.Exit(s.cfg.Admin.Run(ctx, u.Name, args, stdout, stderr))
		return
	case known && verb.Kind == sessions.VerbAccount && verb.Name == "weblink":
		sess.Exit(s.weblink(ctx, u, args[1:], stdout, stderr))
		return
	case known && verb.Kind == sessions.VerbAccount:
		sess.Exit(s.account(ctx, sess, u, args))
		return
	}
	// attach/new --help or a bad command line: answered before the pty
	// check and before anything is drawn (issue 9).
	if code, done := sessions.CheckInteractive(args, stdout, stderr); done {
		fmt.Fprint(sess.Stderr(), welcomed) // no workspace to show it in
		sess.Exit(code)
		return
	}
	if !known || verb.Kind != sessions.VerbInteractive {
		sess.Exit(s.cfg.Manager.Command(ctx, u, args, stdout, stderr))
		return
	}
	pty, winCh, ok := sess.Pty()
	if !ok {
		fmt.Fprintf(stderr, "termhost needs a terminal: use ssh -t\n")
		sess.Exit(1)
		return
	}
	resizes := make(chan sessions.Size, 1)
	go sessions.ForwardSizes(ctx, winCh, resizes, func(w ssh.Window) sessions.Size {
		return sessions.Size{Width: w.Width, Height: w.Height}
	})
	// LANG/LC_* arrive as env requests (OpenSSH's SendEnv): a non-UTF-8
	// locale gets ASCII drawing characters (sessions.CharsetFor).
	info := sessions.ClientInfo{Transport: "ssh", Remote: remoteOf(ctx.RemoteAddr()), Term: pty.Term,
		Locale: sessions.LocaleOf(sess.Environ()), Width: pty.Window.Width, Height: pty.Window.Height, Resizes: resizes,
		Notice: notice}
	conn := &channelConn{sess: sess}
	if err := s.cfg.Manager.Serve(ctx, conn, info, u, args); err != nil {
		s.cfg.Log.Info("ssh session ended with error", "transport", "ssh", "remote", ctx.RemoteAddr(), "user", u.Name, "err", err)
		fmt.Fprintf(sess.Stderr(), "error: %v\r\n", err)
		conn.exit(1)
		return
	}
	conn.exit(0)
}

// weblink prints a one-time link that signs a browser in as u and opens
// the session args name (SPEC §9: `weblink [SESSION]`).
func (s *Server) weblink(ctx ssh.Context, u sessions.User, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && sessions.IsHelp(args[0]) {
		fmt.Fprint(stdout, sessions.VerbUsage("weblink"))
		return 0
	}
	if s.cfg.Weblink == nil {
		fmt.Fprintln(stderr, "error: the web interface is off on this server (http_addr is empty)")
		return 1
	}
	if len(args) > 1 || (len(args) == 1 && strings.HasPrefix(args[0], "-")) {
		fmt.Fprintf(stderr, "error: weblink takes one session, got %q\n%s", args, sessions.VerbUsage("weblink"))
		return 2
	}
	ref := ""
	if len(args) == 1 {
		ref = args[0]
	}
	link, err := s.cfg.Weblink(ctx, u, ref, ctx.LocalAddr())
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Open this link in a browser within a minute; it works once:\n%s\n", link)
	return 0
}

// user loads the account, first creating it when this login is a signup.
func (s *Server) user(ctx ssh.Context) (sessions.User, error) {
	name := ctx.User()
	if key, ok := ctx.Value(signupKey).(string); ok {
		u, err := s.cfg.Auth.Signup(ctx, name, key, "", ctx.RemoteAddr())
		switch {
		case err == nil:
			s.cfg.Log.Info("signed up", "transport", "ssh", "user", u.Name, "role", u.Role, "remote", ctx.RemoteAddr())
			ctx.SetValue(newAccountKey, u.Role)
		case errors.Is(err, persist.ErrExists):
			// Another connection signed this name up first: only its keys count.
			if _, err := s.cfg.Auth.CheckKey(ctx, name, ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)); err != nil {
				return sessions.User{}, err
			}
		default:
			return sessions.User{}, err
		}
	}
	u, err := s.cfg.Users.GetUser(ctx, name)
	if err != nil {
		return sessions.User{}, err
	}
	return sessions.User{Name: u.Name, Admin: u.Role == persist.RoleAdmin}, nil
}

func remoteOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// channelConn adapts an SSH session channel to sessions.ExitConn.
type channelConn struct {
	sess ssh.Session
	once sync.Once
	code atomic.Int32 // the exit status Close sends (sessions.ExitConn)
}

// SetExit implements sessions.ExitConn: Close ends the channel with code.
func (c *channelConn) SetExit(code int) { c.code.Store(int32(code)) }

func (c *channelConn) Read(p []byte) (int, error)  { return c.sess.Read(p) }
func (c *channelConn) Write(p []byte) (int, error) { return c.sess.Write(p) }

// Close ends the channel with the status SetExit gave (0 unless the
// session layer ended the connection over an error).
func (c *channelConn) Close() error {
	c.exit(int(c.code.Load()))
	return nil
}

func (c *channelConn) exit(code int) {
	c.once.Do(func() {
		_ = c.sess.Exit(code)
		_ = c.sess.Close()
	})
}

var _ sessions.ExitConn = (*channelConn)(nil)

// ptyText is sess's stdout for plain text: on a pty (ssh -t) each bare
// LF goes out as CR LF, since the client's terminal is raw and would
// stair-step. (sessions.Conn's newline rule is the workspace's side of the
// same fact.)
func ptyText(sess ssh.Session) io.Writer {
	if _, _, tty := sess.Pty(); tty {
		return &crlfWriter{w: sess}
	}
	return sess
}

// ptyErr is ptyText for sess's stderr: OpenSSH writes it to the same raw
// terminal.
func ptyErr(sess ssh.Session) io.Writer {
	if _, _, tty := sess.Pty(); tty {
		return &crlfWriter{w: sess.Stderr()}
	}
	return sess.Stderr()
}

// crlfWriter turns each bare "\n" into "\r\n"; one already after a CR
// (text written for a terminal) is left as it is, across writes too.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	out := make([]byte, 0, len(p)+bytes.Count(p, []byte("\n")))
	prevCR := c.lastCR
	for _, b := range p {
		if b == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		prevCR = b == '\r'
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	c.lastCR = prevCR
	return len(p), nil
}
