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
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

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
	Addr       string
	HostKeys   []hostkeys.Key
	Auth       *auth.Authenticator
	Users      Users
	Limiter    *auth.Limiter
	Manager    *sessions.Manager
	Admin      AdminRunner
	LoginGrace time.Duration
	MaxUnauth  int // cap on connections that have not authenticated yet
	ConnRate   *auth.ConnRate
	ProxyProto bool
	Log        *slog.Logger
}

// Server is a running SSH listener.
type Server struct {
	cfg Config
	srv *ssh.Server
	ln  net.Listener

	mu      sync.Mutex
	pending map[string]*trackedConn // unauthenticated, by remote address
}

type ctxKey string

const signupKey ctxKey = "signup-key"

// Listen binds the address and returns a server ready to Serve.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, pending: map[string]*trackedConn{}}
	s.srv = &ssh.Server{
		Handler:                    s.handle,
		PublicKeyHandler:           s.publicKey,
		PasswordHandler:            s.password,
		KeyboardInteractiveHandler: s.keyboardInteractive,
		ConnCallback:               s.trackConn,
		HandshakeTimeout:           cfg.LoginGrace,
		Version:                    "termhost",
		EnableProxyProtocol:        cfg.ProxyProto,
	}
	for _, k := range cfg.HostKeys {
		s.srv.AddHostKey(k.Signer)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh listen %s: %w", cfg.Addr, err)
	}
	s.ln = ln
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

// trackedConn counts toward the unauthenticated cap until released.
type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) release() {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.pending, c.RemoteAddr().String())
		c.s.mu.Unlock()
	})
}

func (c *trackedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

func (s *Server) trackConn(_ ssh.Context, conn net.Conn) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.ConnRate.Allow(auth.SourceOf(conn.RemoteAddr())) {
		s.cfg.Log.Warn("connection rate exceeded; refusing", "remote", conn.RemoteAddr())
		conn.Close()
		return conn
	}
	if s.cfg.MaxUnauth > 0 && len(s.pending) >= s.cfg.MaxUnauth {
		s.cfg.Log.Warn("too many unauthenticated connections; refusing", "remote", conn.RemoteAddr())
		conn.Close()
		return conn
	}
	tc := &trackedConn{Conn: withQuickAck(conn), s: s}
	s.pending[conn.RemoteAddr().String()] = tc
	return tc
}

func (s *Server) authenticated(ctx ssh.Context) {
	s.mu.Lock()
	tc := s.pending[ctx.RemoteAddr().String()]
	s.mu.Unlock()
	if tc != nil {
		tc.release()
	}
}

func (s *Server) delay(ctx ssh.Context) {
	if d := s.cfg.Limiter.Delay(auth.SourceOf(ctx.RemoteAddr())); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
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

func (s *Server) password(ctx ssh.Context, password string) bool {
	s.delay(ctx)
	src := auth.SourceOf(ctx.RemoteAddr())
	if _, err := s.cfg.Auth.CheckPassword(ctx, ctx.User(), password, ctx.RemoteAddr()); err != nil {
		s.cfg.Limiter.Fail(src)
		s.cfg.Log.Info("password login failed", "user", ctx.User(), "remote", ctx.RemoteAddr(), "err", err)
		return false
	}
	s.cfg.Limiter.Succeed(src)
	return true
}

func (s *Server) keyboardInteractive(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	answers, err := challenge("", "", []string{"Password: "}, []bool{false})
	if err != nil || len(answers) != 1 {
		return false
	}
	return s.password(ctx, answers[0])
}
