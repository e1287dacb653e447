package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/coder/websocket"

	"termhost/persist"
	"termhost/sessions"
)

// terminalSocket is /s/{name|id}/ws (and /s/new/ws): the WebSocket that
// attaches the page to a session through sessions.Manager.Serve, exactly
// as an SSH channel does. ?shared=1 joins instead of taking over;
// ?cols=&rows= give the first size.
func (s *Server) terminalSocket(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil {
		// The page cannot read an upgrade's status; it asks /api/me on
		// failure and goes to the sign-in page from there.
		http.Error(w, "sign in required", http.StatusUnauthorized)
		return
	}
	release, ok := s.reserveSocket(w, r, c.user.Name)
	if !ok {
		return
	}
	defer release()
	// Accept refuses (403) an Origin other than this host: another site's
	// page cannot open a terminal with the user's cookie.
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.cfg.Log.Info("websocket refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	s.track(ws, c.csrfKey)
	defer s.untrack(ws)
	ctx := r.Context()
	ref := r.PathValue("ref")
	if s.cfg.Tickets != nil && r.URL.Query().Get("ticket") == "1" {
		// The page's first frame offers its workspace ticket (ticket.go).
		if ref, err = s.offerTicket(ctx, ws, c.user, ref); err != nil {
			ws.Close(CloseEnded, closeReason("error: "+err.Error()))
			return
		}
	}
	conn := newWSConn(ctx, ws, s.draining.Load)
	defer conn.Close()

	rec, err := s.sessionFor(ctx, c.user, ref)
	if err != nil {
		ws.Close(CloseEnded, closeReason("error: "+err.Error()))
		return
	}
	hello, _ := json.Marshal(map[string]string{"type": "session", "id": rec.ID, "name": rec.Name})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		return
	}
	args := []string{"attach", rec.ID}
	if r.URL.Query().Get("shared") == "1" {
		args = append(args, "--shared")
	}
	info := sessions.ClientInfo{Transport: "web", Remote: r.RemoteAddr, Term: "xterm-256color",
		Width: dim(r.URL.Query().Get("cols"), 80), Height: dim(r.URL.Query().Get("rows"), 24), Resizes: conn.resizes}

	kctx, stop := context.WithCancel(ctx)
	defer stop()
	if s.cfg.Tickets != nil {
		s.cfg.Tickets.attach(kctx, rec, ws)
	}
	go conn.keepAlive(kctx, func() {
		// A live terminal is use of its login; a login revoked or expired
		// meanwhile ("sign out everywhere") ends the terminal too.
		if err := s.tokens.alive(kctx, c.token); errors.Is(err, errNoLogin) || errors.Is(err, persist.ErrExpired) {
			ws.Close(CloseEnded, "signed out: sign in again to continue")
		}
	})
	if err := s.cfg.Manager.Serve(ctx, conn, info, c.user, args); err != nil {
		s.cfg.Log.Info("web session ended with error", "user", c.user.Name, "err", err)
	}
}

// sessionFor resolves the page's session: "new" creates one, anything else
// is a name or id prefix among the user's own sessions.
func (s *Server) sessionFor(ctx context.Context, u sessions.User, ref string) (persist.Session, error) {
	if ref == "new" {
		sess, err := s.cfg.Manager.Create(ctx, u, "")
		if err != nil {
			return persist.Session{}, err
		}
		ref = sess.ID()
	}
	return s.cfg.Manager.Find(ctx, u.Name, ref)
}

// dim parses a terminal dimension from the query, def when absent or out
// of range.
func dim(v string, def int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxDim {
		return def
	}
	return n
}
