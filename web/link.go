package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"termhost/persist"
	"termhost/sessions"
)

// ErrNoWeb is returned by Weblink when no web listener runs.
var ErrNoWeb = errors.New("the web interface is off (http_addr is empty)")

// Weblink issues a one-time sign-in link for u (SPEC §9, `ssh host weblink
// [SESSION]`): 256 random bits, valid for LinkTTL (60 s), single use, bound
// to u and to the session ref names (ref "" binds the user's only live
// session, or none: the link then opens the session list). Only the
// token's hash is stored. local is the address the SSH client reached,
// used for the link's host when Config.URL is empty.
func (s *Server) Weblink(ctx context.Context, u sessions.User, ref string, local net.Addr) (string, error) {
	if s == nil {
		return "", ErrNoWeb
	}
	sessionID := ""
	if ref != "" {
		rec, err := s.cfg.Manager.Find(ctx, u.Name, ref)
		if err != nil {
			return "", err
		}
		if rec.State == persist.StateEnded {
			return "", fmt.Errorf("session %s has ended: %w", rec.Name, sessions.ErrNoSession)
		}
		sessionID = rec.ID
	} else if infos, err := s.cfg.Manager.List(ctx, u.Name, ""); err == nil && len(infos) == 1 {
		sessionID = infos[0].ID
	}
	tok, hash := newToken()
	now := s.cfg.Now()
	l := persist.Link{Hash: hash, User: u.Name, SessionID: sessionID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.LinkTTL)}
	if err := s.cfg.Store.CreateLink(ctx, l); err != nil {
		return "", fmt.Errorf("store link for %s: %w", u.Name, err)
	}
	return s.baseURL(local) + "/link?" + url.Values{"t": {tok}}.Encode(), nil
}

// baseURL is Config.URL, or scheme://host:port from the listener and the
// address the SSH client connected to.
func (s *Server) baseURL(local net.Addr) string {
	if s.cfg.URL != "" {
		return strings.TrimSuffix(s.cfg.URL, "/")
	}
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	addr := s.cfg.Addr
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", "8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
		if local != nil {
			if h, _, err := net.SplitHostPort(local.String()); err == nil {
				if ip := net.ParseIP(h); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
					host = h
				}
			}
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// redeemLink is GET /link?t=TOKEN: it takes the link (once), signs the
// browser in with a fresh login cookie and redirects, so the token leaves
// the address bar and the history. The access log never shows it.
//
// A browser signed in as another account is not switched by a GET: a link
// followed from another site would sign its user into the link owner's
// account, ending their own sign-in (login CSRF; attack trial). It gets a
// page that names both accounts, with a button that POSTs (CSRF token and
// Origin checked) a fresh token for the same link to switchByLink.
func (s *Server) redeemLink(w http.ResponseWriter, r *http.Request) {
	l, ok := s.takeLink(w, r, r.URL.Query().Get("t"))
	if !ok {
		return
	}
	if cur, err := s.authenticate(r); err == nil && !cur.bearer && cur.user.Name != l.User {
		tok, hash := newToken()
		l.Hash = hash // same user, session and expiry
		if err := s.cfg.Store.CreateLink(r.Context(), l); err != nil {
			s.cfg.Log.Error("web link: store the switch's link", "user", l.User, "err", err)
			s.message(w, r, http.StatusServiceUnavailable, &cur, "Cannot sign in", "The store is unavailable; try again shortly.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "message", page{Title: "Switch account?", User: &cur.user, CSRF: csrfFor(cur.csrfKey),
			Error:  "This browser is signed in as " + cur.user.Name + ". The link you followed signs it in as " + l.User + " instead, and signs " + cur.user.Name + " out here.",
			Button: &button{Action: "/link", Label: "Sign in as " + l.User, Hidden: []hidden{{"t", tok}}}})
		return
	}
	s.signInByLink(w, r, l)
}

// switchByLink is POST /link, the button of redeemLink's page: the
// signed-in user agreed to switch to the link's account.
func (s *Server) switchByLink(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.formPost(w, r, s.pageCaller); !ok {
		return
	}
	if l, ok := s.takeLink(w, r, r.PostFormValue("t")); ok {
		s.signInByLink(w, r, l)
	}
}

// takeLink takes the link of token tok (once) and checks its account still
// exists; on failure it has answered (410) and returns false.
func (s *Server) takeLink(w http.ResponseWriter, r *http.Request, tok string) (persist.Link, bool) {
	var l persist.Link
	err := errNoLogin
	if wellFormed(tok) {
		l, err = s.cfg.Store.TakeLink(r.Context(), hashToken(tok), s.cfg.Now())
	}
	if err != nil {
		if !errors.Is(err, persist.ErrNotFound) && !errors.Is(err, persist.ErrExpired) && !errors.Is(err, errNoLogin) {
			s.cfg.Log.Error("take link", "err", err)
		}
		s.message(w, r, http.StatusGone, nil, "Link not valid",
			"This sign-in link was used already or has expired: a link works once, within a minute. Run “ssh HOST weblink” again, or sign in.")
		return l, false
	}
	if _, err := s.cfg.Store.GetUser(r.Context(), l.User); err != nil {
		s.message(w, r, http.StatusGone, nil, "Link not valid", "The account this link was made for no longer exists.")
		return l, false
	}
	return l, true
}

// signInByLink replaces the browser's login by a fresh one for l's user and
// redirects (303) to l's session, or to the session list.
func (s *Server) signInByLink(w http.ResponseWriter, r *http.Request, l persist.Link) {
	if ck, err := r.Cookie(LoginCookie); err == nil && wellFormed(ck.Value) {
		_ = s.cfg.Store.DeleteLogin(r.Context(), hashToken(ck.Value))
	}
	login, _, err := s.tokens.issue(r.Context(), l.User, r.RemoteAddr, r.UserAgent())
	if err != nil {
		s.cfg.Log.Error("web link login", "user", l.User, "err", err)
		s.message(w, r, http.StatusServiceUnavailable, nil, "Cannot sign in", "The store is unavailable; try again shortly.")
		return
	}
	s.cfg.Log.Info("web login by link", "user", l.User, "remote", r.RemoteAddr, "session", l.SessionID)
	s.setLoginCookie(w, r, login)
	next := "/"
	if l.SessionID != "" {
		next = "/s/" + url.PathEscape(l.SessionID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// redactedURL is u as the access log writes it: token parameters replaced.
func redactedURL(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q := u.Query()
	for _, k := range []string{"t", "token", "access_token"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	return u.Path + "?" + q.Encode()
}
