// Package sshd is the SSH transport: it authenticates connections through
// auth, turns an SSH channel into a sessions.Conn, and routes commands
// (interactive verbs to the session manager, admin verbs to the admin
// runner). It holds no session state of its own.
package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/persist"
	"termhost/sessions"
)

// AdminRunner runs admin verbs ("sessions list --json", ...) for an admin.
type AdminRunner interface {
	Run(ctx context.Context, actor string, args []string, stdout, stderr io.Writer) int
}

// Users is the part of the store the transport reads.
type Users interface {
	GetUser(ctx context.Context, name string) (persist.User, error)
}

// Config wires a Server.
type Config struct {
	Addr     string
	HostKeys []hostkeys.Key
	Auth     *auth.Authenticator // the one login path (passwords, keys, signup)
	Users    Users
	Manager  *sessions.Manager
	Admin    AdminRunner
	// Admission is the node's gate, shared with the other transports; nil:
	// a gate of its own with no caps and the default login grace.
	Admission *admission.Gate
	// Proxy says whose PROXY headers are believed; nil: PROXY protocol off.
	Proxy *admission.Trust
	// Weblink issues a one-time browser sign-in link for `ssh host weblink
	// [SESSION]` (SPEC §9; web.Server.Weblink); nil: the web interface is off.
	Weblink func(ctx context.Context, u sessions.User, ref string, local net.Addr) (string, error)
	// Limits bound authenticated connections per user and source and the
	// time one may run no session; nil: DefaultLimits.
	Limits *Limits
	// FixedAccount reports whether name's account comes from the node's
	// config file (store: memory, SPEC §10): the node cannot write that
	// file, so `passwd` and `keys add|del` refuse (ErrFixedAccount) rather
	// than change what the next start undoes. nil: no account is.
	FixedAccount func(name string) bool
	Log          *slog.Logger
}

// Server is a running SSH listener.
type Server struct {
	cfg   Config
	srv   *ssh.Server
	ln    net.Listener
	conns *connTable // authenticated connections per user and source
}

type ctxKey string

const (
	signupKey ctxKey = "signup-key"
	ticketKey ctxKey = "admission-ticket"
	connKey   ctxKey = "conn" // the connection's *boundedConn (admit)
	// newAccountKey holds the role of an account this connection's login
	// created, for the welcome line (handle).
	newAccountKey ctxKey = "new-account"
)

// ErrSignupMismatch means the repeated password of a new account differed:
// no account was made.
var ErrSignupMismatch = errors.New("passwords do not match; no account was created")

// Listen binds the address and returns a server ready to Serve.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Admission == nil {
		cfg.Admission = admission.New(admission.Config{})
	}
	if cfg.Limits == nil {
		l := DefaultLimits()
		cfg.Limits = &l
	}
	s := &Server{cfg: cfg, conns: newConnTable(*cfg.Limits)}
	s.srv = &ssh.Server{
		Handler:                    s.handle,
		PublicKeyHandler:           s.publicKey,
		PasswordHandler:            s.password,
		KeyboardInteractiveHandler: s.keyboardInteractive,
		ConnCallback:               s.admit,
		ServerConfigCallback:       s.serverConfig,
		HandshakeTimeout:           cfg.Admission.Grace(),
		// Only session channels, bounded; direct-tcpip and every other
		// type are refused, as are all global requests (none registered).
		ChannelHandlers: map[string]ssh.ChannelHandler{"session": s.sessionChannel},
		Version:         "termhost",
	}
	for _, k := range cfg.HostKeys {
		s.srv.AddHostKey(k.Signer)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh listen %s: %w", cfg.Addr, err)
	}
	s.ln = cfg.Proxy.Listen("ssh", ln)
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error { return s.srv.Close() }

// admit runs on the connection's own goroutine (charm's HandleConn), so a
// trusted proxy's header is awaited there, not in the accept loop. A
// refused connection is closed before the SSH version exchange.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	t, err := s.cfg.Admission.Admit("ssh", conn, nil) // the gate counts and logs a refusal
	if err != nil {
		return nil // charm closes it
	}
	ctx.SetValue(ticketKey, t)
	c := &boundedConn{Conn: withQuickAck(conn), ticket: t, table: s.conns, log: s.cfg.Log, grace: s.cfg.Limits.SessionGrace}
	ctx.SetValue(connKey, c)
	return c
}

func connOf(ctx ssh.Context) *boundedConn {
	c, _ := ctx.Value(connKey).(*boundedConn)
	return c
}

// serverConfig marks the connection logged in the moment authentication
// succeeds (after a public key's signature is checked), so its
// unauthenticated slot and grace end there.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		AuthLogCallback: func(md gossh.ConnMetadata, method string, err error) {
			if err == nil {
				s.authenticated(ctx)
				if c := connOf(ctx); c != nil {
					c.loggedIn(md.User())
				}
				if method == "publickey" {
					s.cfg.Auth.KeyAccepted("ssh")
				}
			}
		},
	}
}

func ticketOf(ctx ssh.Context) *admission.Ticket {
	t, _ := ctx.Value(ticketKey).(*admission.Ticket)
	return t
}

// authenticated ends the connection's login grace. A connection whose
// grace ran out first is being closed; its handler finds the channel gone.
func (s *Server) authenticated(ctx ssh.Context) {
	if t := ticketOf(ctx); t != nil {
		t.LoggedIn()
	}
}

func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	signup, err := s.cfg.Auth.CheckKey(ctx, ctx.User(), key)
	if err != nil {
		return false
	}
	if signup {
		ctx.SetValue(signupKey, auth.NormalizeKey(key))
	}
	return true
}

// password answers the password method. It cannot ask again, so a signup
// through it is not confirmed: OpenSSH tries keyboard-interactive first,
// which does confirm, and scripts that send only a password keep working.
func (s *Server) password(ctx ssh.Context, password string) bool {
	return s.login(ctx, password, nil) == nil
}

// keyboardInteractive asks for the password and, for an unknown name with
// signup on, asks for it again before the account is made (as telnet and
// the web do, issue 9): a mistyped name makes no account. A signup that
// fails for a reason the user can fix (the repeat differs, the password is
// too short, the name is not valid) is said in one more round with no
// questions, whose instruction text OpenSSH prints; the client then asks
// again (OpenSSH: NumberOfPasswordPrompts) or ends with "Permission
// denied". A wrong password is not explained.
func (s *Server) keyboardInteractive(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	answers, err := challenge("", "", []string{"Password: "}, []bool{false})
	if err != nil || len(answers) != 1 {
		return false
	}
	pw := answers[0]
	err = s.login(ctx, pw, func(context.Context) error {
		again, err := challenge("", fmt.Sprintf("There is no account %q: repeat the password to create it.", ctx.User()),
			[]string{"Repeat the password: "}, []bool{false})
		if err != nil {
			return err
		}
		if len(again) != 1 || again[0] != pw {
			return ErrSignupMismatch
		}
		return nil
	})
	if err == nil {
		return true
	}
	if msg := signupMessage(err); msg != "" {
		_, _ = challenge("", msg, nil, nil)
	}
	return false
}

// signupMessage is what a failed keyboard-interactive login tells the
// user, "" for nothing (a wrong password or an unknown name stays
// unexplained).
func signupMessage(err error) string {
	switch {
	case errors.Is(err, ErrSignupMismatch):
		return "The passwords do not match: no account was created. Try again."
	case errors.Is(err, auth.ErrShortPassword):
		return fmt.Sprintf("No account was created: %v.", err)
	case errors.Is(err, auth.ErrBadName):
		return fmt.Sprintf("No account was created: %v.", auth.ErrBadName)
	case errors.Is(err, auth.ErrThrottled):
		return "Too many failed logins for this account; try again later."
	}
	return ""
}

// login runs one password attempt through the one login path, its waits
// bounded by the login grace; confirm (nil: none) asks before a signup.
// A login that created the account leaves its role in ctx. It returns
// auth.Login's error.
func (s *Server) login(ctx ssh.Context, password string, confirm func(context.Context) error) error {
	lctx := context.Context(ctx)
	if t := ticketOf(ctx); t != nil {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(ctx, t.Deadline())
		defer cancel()
	}
	signup := false
	u, err := s.cfg.Auth.Login(lctx, auth.LoginRequest{Transport: "ssh", User: ctx.User(), Password: password, Remote: ctx.RemoteAddr(),
		ConfirmSignup: func(c context.Context) error {
			signup = true
			if confirm != nil {
				return confirm(c)
			}
			return nil
		}})
	if err == nil && signup {
		ctx.SetValue(newAccountKey, u.Role)
	}
	return err
}

// welcome is the line a login that created its account prints first.
func welcome(name, role string) string {
	if role == persist.RoleAdmin {
		return fmt.Sprintf("Account %s created. It is the first account, so it is an admin: `sessions …` verbs and the Admin app are yours.\r\n", name)
	}
	return fmt.Sprintf("Account %s created.\r\n", name)
}
