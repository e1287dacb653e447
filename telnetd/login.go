package telnetd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"termhost/admission"
	"termhost/auth"
	"termhost/persist"
	"termhost/sessions"
	"termhost/telnet"
)

// maxAttempts is how many logins one connection may try.
const maxAttempts = 3

// errAbort means the user left the login (ctrl+c, ctrl+d, hang-up).
var errAbort = errors.New("login aborted")

// handle runs negotiation, login and the session. The ticket's timer ends
// the connection if login has not succeeded within the grace: nothing here
// (negotiation clearing read deadlines, a trickle of bytes) can extend it.
func (s *Server) handle(nc net.Conn, ticket *admission.Ticket) {
	ctx, cancel := context.WithCancel(s.base)
	defer cancel()
	lctx, lcancel := context.WithDeadline(ctx, ticket.Deadline())
	defer lcancel()
	tc, err := telnet.Accept(lctx, nc, telnet.Options{NegotiationTimeout: s.cfg.Negotiation})
	if err != nil {
		s.cfg.Log.Info("telnet negotiation failed", "transport", "telnet", "remote", nc.RemoteAddr(), "err", err)
		return
	}
	lr := &lineReader{c: tc}
	u, created, err := s.login(lctx, tc, lr)
	if err == nil && !ticket.LoggedIn() {
		return // the grace ran out as the login finished: the conn is closing
	}
	if err != nil {
		if errors.Is(err, errAbort) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || lctx.Err() != nil {
			return
		}
		tc.Write([]byte("\r\n" + err.Error() + "\r\n"))
		return
	}
	resizes := make(chan sessions.Size, 1)
	go sessions.ForwardSizes(ctx, tc.Resizes(), resizes, func(w telnet.WindowSize) sessions.Size {
		return sessions.Size{Width: w.Width, Height: w.Height}
	})
	w, h := tc.Size()
	// The TTYPE the client announced picks colours and characters
	// (sessions.CharsetFor: syncterm, ansi, pcansi → CP437; vt100 → ASCII).
	// None announced is "": an unknown terminal gets UTF-8 (SPEC §4's
	// default) and no colours.
	info := sessions.ClientInfo{Transport: "telnet", Remote: nc.RemoteAddr().String(), Term: tc.Term(), Width: w, Height: h, Resizes: resizes}
	if created {
		info.Notice = sessions.NewAccountNotice(u.Name, u.Admin) // in the status bar (issue 9)
	}
	// Keys typed ahead of the workspace are kept, not lost.
	conn := &nvtConn{Conn: tc, pending: lr.buf}
	if err := s.cfg.Manager.Serve(ctx, conn, info, u, nil); err != nil {
		s.cfg.Log.Info("telnet session ended with error", "transport", "telnet", "remote", nc.RemoteAddr(), "user", u.Name, "err", err)
	}
}

// login runs the login:/Password: dialogue through the one login path
// (auth.Login), with signup for unknown names when allowed: the password
// is asked twice before the account is created, so a typo does not make a
// stray account. The bool reports a login that made the account (its
// notice is shown in the workspace, sessions.NewAccountNotice).
func (s *Server) login(ctx context.Context, tc *telnet.Conn, lr *lineReader) (sessions.User, bool, error) {
	tc.Write([]byte("termhost (telnet is unencrypted: prefer ssh)\r\n\r\n"))
	for attempt := 0; attempt < maxAttempts; attempt++ {
		name, err := lr.prompt("login: ", true)
		if err != nil {
			return sessions.User{}, false, err
		}
		if name == "" {
			attempt--
			continue
		}
		pw, err := lr.prompt("Password: ", false)
		if err != nil {
			return sessions.User{}, false, err
		}
		signup := false
		u, err := s.cfg.Auth.Login(ctx, auth.LoginRequest{
			Transport: "telnet", User: name, Password: pw, Remote: tc.RemoteAddr(),
			ConfirmSignup: func(context.Context) error {
				signup = true
				again, err := lr.prompt(fmt.Sprintf("\r\nNew account %q. Repeat the password to create it: ", name), false)
				if err != nil {
					return err
				}
				if again != pw {
					return errMismatch
				}
				return nil
			},
		})
		if err == nil {
			return sessions.User{Name: u.Name, Admin: u.Role == persist.RoleAdmin}, signup, nil
		}
		if errors.Is(err, errAbort) || ctx.Err() != nil {
			return sessions.User{}, false, err
		}
		msg := "Login incorrect"
		switch {
		case errors.Is(err, auth.ErrBadName) || errors.Is(err, errMismatch) || errors.Is(err, auth.ErrNoPassword),
			errors.Is(err, auth.ErrShortPassword):
			msg = err.Error()
		case errors.Is(err, auth.ErrThrottled):
			msg = auth.ErrThrottled.Error()
		}
		tc.Write([]byte("\r\n" + msg + "\r\n\r\n"))
	}
	return sessions.User{}, false, errors.New("too many failed logins")
}

var errMismatch = errors.New("the passwords did not match; no account was created")
