package telnetd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"termhost/auth"
	"termhost/persist"
	"termhost/sessions"
	"termhost/telnet"
)

// maxAttempts is how many logins one connection may try.
const maxAttempts = 3

// errAbort means the user left the login (ctrl+c, ctrl+d, hang-up).
var errAbort = errors.New("login aborted")

func (s *Server) handle(nc net.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grace := s.cfg.LoginGrace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	// login_grace bounds negotiation and login together.
	nc.SetDeadline(time.Now().Add(grace))
	tc, err := telnet.Accept(ctx, nc, telnet.Options{NegotiationTimeout: s.cfg.Negotiation})
	if err != nil {
		s.cfg.Log.Info("telnet negotiation failed", "remote", nc.RemoteAddr(), "err", err)
		s.loggedIn()
		return
	}
	lr := &lineReader{c: tc}
	u, err := s.login(ctx, tc, lr)
	s.loggedIn()
	if err != nil {
		if errors.Is(err, errAbort) || errors.Is(err, io.EOF) || isTimeout(err) {
			if isTimeout(err) {
				tc.Write([]byte("\r\nlogin timed out\r\n"))
			}
			return
		}
		tc.Write([]byte("\r\n" + err.Error() + "\r\n"))
		return
	}
	nc.SetDeadline(time.Time{})
	resizes := make(chan sessions.Size, 1)
	go sessions.ForwardSizes(ctx, tc.Resizes(), resizes, func(w telnet.WindowSize) sessions.Size {
		return sessions.Size{Width: w.Width, Height: w.Height}
	})
	w, h := tc.Size()
	term := tc.Term()
	if term == "" {
		term = "vt100"
	}
	info := sessions.ClientInfo{Transport: "telnet", Remote: nc.RemoteAddr().String(), Term: term, Width: w, Height: h, Resizes: resizes}
	// Keys typed ahead of the workspace are kept, not lost.
	conn := &nvtConn{Conn: tc, pending: lr.buf}
	if err := s.cfg.Manager.Serve(ctx, conn, info, u, nil); err != nil {
		s.cfg.Log.Info("telnet session ended with error", "user", u.Name, "err", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// login runs the login:/Password: dialogue, with signup for unknown names
// when allowed (the password is asked twice to create the account).
func (s *Server) login(ctx context.Context, tc *telnet.Conn, lr *lineReader) (sessions.User, error) {
	src := auth.SourceOf(tc.RemoteAddr())
	tc.Write([]byte("termhost (telnet is unencrypted: prefer ssh)\r\n\r\n"))
	for attempt := 0; attempt < maxAttempts; attempt++ {
		name, err := lr.prompt("login: ", true)
		if err != nil {
			return sessions.User{}, err
		}
		if name == "" {
			attempt--
			continue
		}
		pw, err := lr.prompt("Password: ", false)
		if err != nil {
			return sessions.User{}, err
		}
		if d := s.cfg.Limiter.Delay(src); d > 0 {
			time.Sleep(d)
		}
		u, err := s.check(ctx, lr, name, pw, tc.RemoteAddr())
		if err == nil {
			s.cfg.Limiter.Succeed(src)
			return u, nil
		}
		if errors.Is(err, errAbort) {
			return sessions.User{}, err
		}
		s.cfg.Limiter.Fail(src)
		s.cfg.Log.Info("telnet login failed", "user", name, "remote", tc.RemoteAddr(), "err", err)
		msg := "Login incorrect"
		if errors.Is(err, auth.ErrBadName) || errors.Is(err, errMismatch) {
			msg = err.Error()
		}
		tc.Write([]byte("\r\n" + msg + "\r\n\r\n"))
	}
	return sessions.User{}, errors.New("too many failed logins")
}

var errMismatch = errors.New("the passwords did not match; no account was created")

func (s *Server) check(ctx context.Context, lr *lineReader, name, pw string, remote net.Addr) (sessions.User, error) {
	u, err := s.cfg.Users.GetUser(ctx, name)
	switch {
	case errors.Is(err, persist.ErrNotFound) && s.cfg.Auth.AllowSignup:
		if err := auth.ValidName(name); err != nil {
			return sessions.User{}, err
		}
		if pw == "" {
			return sessions.User{}, auth.ErrNoPassword
		}
		again, err := lr.prompt(fmt.Sprintf("\r\nNew account %q. Repeat the password to create it: ", name), false)
		if err != nil {
			return sessions.User{}, err
		}
		if again != pw {
			return sessions.User{}, errMismatch
		}
		if u, err = s.cfg.Auth.Signup(ctx, name, "", pw, remote); err != nil {
			return sessions.User{}, err
		}
		s.cfg.Log.Info("signed up", "user", u.Name, "role", u.Role, "remote", remote, "transport", "telnet")
	case err != nil:
		return sessions.User{}, auth.ErrDenied
	default:
		if u, err = s.cfg.Auth.CheckPassword(ctx, name, pw, remote); err != nil {
			return sessions.User{}, err
		}
	}
	return sessions.User{Name: u.Name, Admin: u.Role == persist.RoleAdmin}, nil
}
