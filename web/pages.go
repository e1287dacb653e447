package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"termhost/auth"
	"termhost/persist"
	"termhost/sessions"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are parsed once: each page with the shared layout.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "sessions", "terminal", "admin", "message"} {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/admintable.html", "templates/"+name+".html"))
	}
	return out
}()

// page is what every template sees.
type page struct {
	Title     string
	BodyClass string
	User      *sessions.User
	CSRF      string
	Plaintext bool
	Flash     string

	// sign in
	Name, Next, Error        string
	Expired, Signup, Confirm bool
	// sessions
	Sessions any
	Logins   []loginRow
	// terminal
	Ref    string
	Shared bool
	// message: a POST button under the text (New session, a link's
	// account switch), or a plain link (a session opened from elsewhere)
	Button *button
	Link   *link
	// admin
	Audit []auditRow
}

// button is a one-button POST form; the page's CSRF token goes with it.
type button struct {
	Action, Label string
	Hidden        []hidden
}

type hidden struct{ Name, Value string }

// link is a link styled as a button.
type link struct{ Href, Label string }

type sessionRow struct {
	ID, ShortID, Owner, Name, State, LastActive, Idle, Apps, ClientList string
	Clients                                                             []sessions.ClientView
}

type loginRow struct {
	Created, LastSeen, Remote, UserAgent string
	Current                              bool
}

type auditRow struct{ At, Actor, Action, Target, Detail string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Plaintext = r.TLS == nil
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages[name].ExecuteTemplate(w, name+".html", p); err != nil {
		s.cfg.Log.Error("render page", "page", name, "err", err)
	}
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, c *caller, title, text string) {
	p := page{Title: title, Error: text}
	if c != nil {
		p.User, p.CSRF = &c.user, csrfFor(c.csrfKey)
	}
	s.render(w, r, status, "message", p)
}

// pageCaller authenticates a page request; without a valid login it
// redirects to the sign-in page (saying so when the login expired or was
// revoked) with the page asked for as next, and returns false.
func (s *Server) pageCaller(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, err := s.authenticate(r)
	if err == nil {
		return c, true
	}
	if c.bearer && (errors.Is(err, persist.ErrExpired) || errors.Is(err, errNoLogin)) {
		// A script, not a browser: a status, not the sign-in page.
		http.Error(w, "the Authorization token is not a valid login", http.StatusUnauthorized)
		return c, false
	}
	q := url.Values{"next": {r.URL.RequestURI()}}
	if c.token != "" && (errors.Is(err, persist.ErrExpired) || errors.Is(err, errNoLogin)) {
		q.Set("expired", "1")
		s.clearLoginCookie(w, r)
	} else if !errors.Is(err, errNoLogin) {
		s.cfg.Log.Error("check login", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return c, false
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
	return c, false
}

// home is the sign-in page, or the caller's sessions.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil && !errors.Is(err, errNoLogin) && !errors.Is(err, persist.ErrExpired) {
		// The store did not answer: keep the cookie, it may be fine.
		s.cfg.Log.Error("check login", "err", err)
		s.message(w, r, http.StatusServiceUnavailable, nil, "Try again shortly", "The store is unavailable.")
		return
	}
	if err != nil && c.bearer {
		http.Error(w, "the Authorization token is not a valid login", http.StatusUnauthorized) // a script, as in pageCaller
		return
	}
	if err != nil {
		if c.token != "" {
			s.clearLoginCookie(w, r)
		}
		expired := r.URL.Query().Get("expired") == "1" || c.token != ""
		s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", CSRF: s.preLoginCSRF(w, r), Next: safeNext(r.URL.Query().Get("next")), Expired: expired, Signup: s.cfg.Signup})
		return
	}
	infos, err := s.cfg.Manager.List(r.Context(), c.user.Name, "")
	if err != nil {
		s.message(w, r, http.StatusServiceUnavailable, &c, "Cannot list sessions", err.Error())
		return
	}
	now := s.cfg.Now()
	var rows []sessionRow
	for _, in := range infos {
		rows = append(rows, rowOf(in, now))
	}
	logins, err := s.cfg.Store.ListLogins(r.Context(), c.user.Name)
	if err != nil {
		s.cfg.Log.Error("list logins", "user", c.user.Name, "err", err)
	}
	var lrows []loginRow
	for _, l := range logins {
		if l.Expired(now) {
			continue
		}
		lrows = append(lrows, loginRow{Created: l.CreatedAt.Local().Format("2006-01-02 15:04"), LastSeen: ago(now.Sub(l.LastSeen)),
			Remote: addressOnly(l.Remote), UserAgent: truncate(l.UserAgent, 80), Current: l.Hash == c.login.Hash})
	}
	flash := ""
	if r.URL.Query().Get("signedin") == "1" {
		flash = "Signed in as " + c.user.Name + "."
		if c.user.Admin {
			flash = "Signed in as " + c.user.Name + ", an admin: /admin shows every session."
		}
	}
	s.render(w, r, http.StatusOK, "sessions", page{Title: "Sessions", User: &c.user, CSRF: csrfFor(c.csrfKey), Sessions: rows, Logins: lrows, Flash: flash})
}

func rowOf(in sessions.Info, now time.Time) sessionRow {
	var apps, clients []string
	for _, a := range in.Apps {
		apps = append(apps, a.App)
	}
	for _, cl := range in.Clients {
		clients = append(clients, cl.Transport+" "+cl.Remote)
	}
	short := in.ID[:min(12, len(in.ID))]
	return sessionRow{ID: in.ID, ShortID: short, Owner: in.Owner, Name: in.Name, State: in.State, LastActive: ago(now.Sub(in.LastInputAt)),
		Idle: now.Sub(in.LastInputAt).Round(time.Second).String(), Apps: strings.Join(apps, ", "), ClientList: strings.Join(clients, ", "), Clients: in.Clients}
}

// login is POST /login: the shared login path, then a fresh token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !s.readForm(w, r, nil) {
		return
	}
	if err := checkPreLoginCSRF(r); err != nil {
		s.message(w, r, http.StatusForbidden, nil, "Refused", "The sign-in form was stale or came from another site; reload the page and try again.")
		return
	}
	name, password, next := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password"), safeNext(r.PostFormValue("next"))
	if len(name) > 64 || len(password) > 1024 || name == "" {
		s.render(w, r, http.StatusBadRequest, "signin", page{Title: "Sign in", CSRF: s.preLoginCSRF(w, r), Next: next, Name: truncate(name, 64),
			Error: "User name (at most 64 characters) and password (at most 1024 bytes) are required."})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LoginTimeout)
	// A new account needs the password twice, as over telnet: a typo in a
	// name must not make a stray account.
	again := r.PostFormValue("password2")
	confirm := func(context.Context) error {
		switch {
		case again == "":
			return errConfirmSignup
		case again != password:
			return errSignupMismatch
		}
		return nil
	}
	u, err := s.cfg.Login(ctx, name, password, remoteAddr(r), confirm)
	cancel()
	if err != nil {
		p := page{Title: "Sign in", CSRF: s.preLoginCSRF(w, r), Next: next, Name: name, Signup: s.cfg.Signup, Error: "Wrong user name or password."}
		switch {
		case errors.Is(err, errConfirmSignup):
			p.Title, p.Confirm, p.Error = "Create account", true, ""
		case errors.Is(err, errSignupMismatch):
			p.Title, p.Confirm, p.Error = "Create account", true, "The passwords differ; type them again."
		case errors.Is(err, auth.ErrShortPassword):
			// A new account's password under auth.MinPasswordLength (issue 9).
			p.Error = "No account was created: " + auth.ErrShortPassword.Error() + "."
		case errors.Is(err, auth.ErrThrottled):
			p.Error = "Too many failed logins for this account; try again later."
			s.cfg.Log.Info("web login failed", "transport", "web", "user", name, "remote", r.RemoteAddr, "err", err)
		default:
			s.cfg.Log.Info("web login failed", "transport", "web", "user", name, "remote", r.RemoteAddr, "err", err)
		}
		s.render(w, r, http.StatusUnauthorized, "signin", p)
		return
	}
	// A new token at every sign-in; the one this browser had (if any) ends,
	// so a token planted before sign-in is worth nothing after it.
	if ck, err := r.Cookie(LoginCookie); err == nil && wellFormed(ck.Value) {
		_ = s.cfg.Store.DeleteLogin(r.Context(), hashToken(ck.Value))
	}
	tok, _, err := s.tokens.issue(r.Context(), u.Name, r.RemoteAddr, r.UserAgent())
	if err != nil {
		s.cfg.Log.Error("web login", "user", u.Name, "err", err)
		s.message(w, r, http.StatusServiceUnavailable, nil, "Cannot sign in", "The store is unavailable; try again shortly.")
		return
	}
	s.cfg.Log.Info("web login", "user", u.Name, "remote", r.RemoteAddr)
	s.setLoginCookie(w, r, tok)
	if next == "/" {
		next = "/?signedin=1"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout is POST /logout: this browser, or every browser with ?everywhere=1.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formPost(w, r, func(w http.ResponseWriter, r *http.Request) (caller, bool) {
		c, err := s.authenticate(r)
		if err != nil { // signed out already: the cookie goes, nothing to refuse
			s.clearLoginCookie(w, r)
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return c, false
		}
		return c, true
	})
	if !ok {
		return
	}
	if r.URL.Query().Get("everywhere") == "1" || r.PostFormValue("everywhere") == "1" {
		n, err := s.tokens.revokeAll(r.Context(), c.user.Name)
		ended := s.cfg.Manager.DetachTransport(c.user.Name, "web", sessions.SignedOut)
		s.cfg.Log.Info("web logout everywhere", "user", c.user.Name, "logins", n, "terminals", ended, "err", err)
	} else {
		_ = s.tokens.revoke(r.Context(), c.login)
		// Its open terminals end now, not at their next keep-alive: on a
		// shared computer the next person must not find one still typing
		// (newcomer trial: 15 s of keys after "Sign out").
		ended := s.endLogin(c.csrfKey)
		s.cfg.Log.Info("web logout", "user", c.user.Name, "terminals", ended)
	}
	s.clearLoginCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// terminalPage is /s/{name|id}: xterm.js and the script that connects it.
func (s *Server) terminalPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("ref")
	if ref == "new" {
		// Opening a session changes state, so it is a POST (newSession): a
		// link to /s/new on another site gets this button, not a session.
		s.render(w, r, http.StatusOK, "message", page{Title: "New session", Error: "Open a new session in this tab?",
			User: &c.user, CSRF: csrfFor(c.csrfKey), Button: &button{Action: "/s/new", Label: "New session"}})
		return
	}
	rec, err := s.cfg.Manager.Find(r.Context(), c.user.Name, ref)
	if err != nil && s.cfg.Tickets != nil && errors.Is(err, sessions.ErrNoSession) && looksLikeSessionID(ref) {
		// Maybe a session this node lost (a restart of --store memory):
		// the page offers its workspace ticket, if it has one.
		rec, err = persist.Session{ID: ref, Name: ref}, nil
	}
	if err != nil || rec.State == persist.StateEnded {
		s.message(w, r, http.StatusNotFound, &c, "No such session", "You have no live session called "+ref+".")
		return
	}
	shared := r.URL.Query().Get("shared") == "1"
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		// Another site sent the browser here (a link, a redirect, a meta
		// refresh; the Lax cookie rides along): the page would attach at
		// once and take the session over from the user's other clients.
		// A same-origin click on this link opens it (newcomer trial).
		href := "/s/" + url.PathEscape(rec.ID)
		what := "It takes the session over from its other clients."
		if shared {
			href, what = href+"?shared=1", "It joins the session's other clients."
		}
		s.render(w, r, http.StatusOK, "message", page{Title: "Open " + rec.Name + "?", User: &c.user, CSRF: csrfFor(c.csrfKey),
			Error: "Another site sent you to your session " + rec.Name + ". " + what, Link: &link{Href: href, Label: "Open " + rec.Name}})
		return
	}
	s.render(w, r, http.StatusOK, "terminal", page{Title: rec.Name, BodyClass: "terminal", User: &c.user, CSRF: csrfFor(c.csrfKey), Ref: rec.ID, Shared: shared})
}

// formPost starts a form's POST: the body bounded (16 KiB), the caller
// authenticated by auth (pageCaller, adminCaller), the CSRF token and the
// Origin checked (checkCSRF). On a refusal it has answered (403 with a
// page saying why) and returns false.
func (s *Server) formPost(w http.ResponseWriter, r *http.Request, auth func(http.ResponseWriter, *http.Request) (caller, bool)) (caller, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	c, ok := auth(w, r)
	if !ok {
		return c, false
	}
	if !s.readForm(w, r, &c) {
		return c, false
	}
	if err := s.checkCSRF(r, c); err != nil {
		s.message(w, r, http.StatusForbidden, &c, "Refused", "The form was stale or came from another site; reload the page and try again.")
		return c, false
	}
	return c, true
}

// readForm parses a POST's form (parseForm); when it cannot, it answers
// 413 or 400 with a page saying why and returns false. c is the caller, nil
// before sign-in.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, c *caller) bool {
	err := parseForm(r)
	if err != nil {
		status := bodyStatus(err)
		s.message(w, r, status, c, http.StatusText(status), "The form could not be read: "+err.Error())
	}
	return err == nil
}

// newSession is POST /s/new (the sessions page's button): it opens a
// session (a CSRF token and this site's Origin required, like every POST)
// and sends the browser to its terminal page, 303.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formPost(w, r, s.pageCaller)
	if !ok {
		return
	}
	sess, err := s.cfg.Manager.Create(r.Context(), c.user, "")
	if err != nil {
		s.message(w, r, http.StatusConflict, &c, "Cannot open a session", err.Error())
		return
	}
	http.Redirect(w, r, "/s/"+url.PathEscape(sess.ID()), http.StatusSeeOther)
}

// endPage is GET /s/{ref}/end (the sessions page's End link): it asks, and
// its button POSTs to endSession. A GET ends nothing.
func (s *Server) endPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return
	}
	rec, err := s.cfg.Manager.Find(r.Context(), c.user.Name, r.PathValue("ref"))
	if err != nil || rec.State == persist.StateEnded {
		s.message(w, r, http.StatusNotFound, &c, "No such session", "You have no live session called "+r.PathValue("ref")+".")
		return
	}
	s.render(w, r, http.StatusOK, "message", page{Title: "End " + rec.Name + "?", User: &c.user, CSRF: csrfFor(c.csrfKey),
		Error:  "Ending session " + rec.Name + " disconnects its clients; it cannot be resumed. Saved documents stay.",
		Button: &button{Action: "/s/" + url.PathEscape(rec.ID) + "/end", Label: "End " + rec.Name}})
}

// endSession is POST /s/{ref}/end: the user's own `kill` verb (the verb
// table's, as over SSH), then back to the sessions page.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formPost(w, r, s.pageCaller)
	if !ok {
		return
	}
	var out, errOut bytes.Buffer
	if code := s.cfg.Manager.Command(r.Context(), c.user, []string{"kill", r.PathValue("ref")}, &out, &errOut); code != 0 {
		s.message(w, r, http.StatusNotFound, &c, "Cannot end the session", strings.TrimSpace(strings.TrimPrefix(errOut.String(), "error: ")))
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// adminPage is /admin: the live table and the audit tail.
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.adminCaller(w, r)
	if !ok {
		return
	}
	p, err := s.adminData(r, c)
	if err != nil {
		s.message(w, r, http.StatusServiceUnavailable, &c, "Cannot list sessions", err.Error())
		return
	}
	entries, err := s.cfg.Store.AuditLog(r.Context(), 20)
	if err != nil {
		s.cfg.Log.Error("audit log", "err", err)
	}
	for _, e := range entries {
		p.Audit = append(p.Audit, auditRow{At: e.At.Local().Format("2006-01-02 15:04:05"), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
	}
	p.Flash = takeFlash(w, r, c)
	s.render(w, r, http.StatusOK, "admin", p)
}

// adminTable is the table alone, which the admin page reloads every few seconds.
func (s *Server) adminTable(w http.ResponseWriter, r *http.Request) {
	c, ok := s.adminCaller(w, r)
	if !ok {
		return
	}
	p, err := s.adminData(r, c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages["admin"].ExecuteTemplate(w, "admintable", p); err != nil {
		s.cfg.Log.Error("render admin table", "err", err)
	}
}

func (s *Server) adminData(r *http.Request, c caller) (page, error) {
	infos, err := s.cfg.Manager.List(r.Context(), "", "")
	now := s.cfg.Now()
	var rows []sessionRow
	for _, in := range infos {
		rows = append(rows, rowOf(in, now))
	}
	return page{Title: "Admin", User: &c.user, CSRF: csrfFor(c.csrfKey), Sessions: rows}, err
}

func (s *Server) adminCaller(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, ok := s.pageCaller(w, r)
	if ok && !c.user.Admin {
		s.message(w, r, http.StatusForbidden, &c, "Admins only", c.user.Name+" is not an admin.")
		return c, false
	}
	return c, ok
}

// adminAction is a form on /admin: detach, kill or message one session,
// run by the same runner as `termhost sessions ...`.
func (s *Server) adminAction(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formPost(w, r, s.adminCaller)
	if !ok {
		return
	}
	out, _, err := s.runAdmin(r, c, r.PathValue("id"), r.PathValue("verb"), r.PostFormValue("text"))
	done := strings.TrimSpace(out)
	if err != nil {
		done = "error: " + err.Error()
	}
	// The result rides in a cookie this POST sets, MACed with the login's
	// CSRF token, not in the URL: a link to /admin?done=… could put any
	// text under the admin's header (newcomer and attack trials), and a
	// page on another port of this host can set a plain cookie (re-attack).
	text := truncate(done, 300)
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(text) + "." + flashMAC(c, text), Path: "/admin",
		MaxAge: 60, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// flashCookie carries an admin action's result to the next /admin page.
const flashCookie = "termhost_flash"

// flashMAC is HMAC-SHA-256 of text under c's CSRF token, hex.
func flashMAC(c caller, text string) string {
	m := hmac.New(sha256.New, []byte(csrfFor(c.csrfKey)))
	m.Write([]byte(text))
	return hex.EncodeToString(m.Sum(nil))
}

// takeFlash returns the admin action's result for c, clearing its cookie;
// "" when there is none or its MAC is not c's.
func takeFlash(w http.ResponseWriter, r *http.Request, c caller) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	escaped, mac, ok := strings.Cut(ck.Value, ".")
	text, err := url.QueryUnescape(escaped)
	if !ok || err != nil || !hmac.Equal([]byte(mac), []byte(flashMAC(c, text))) {
		return ""
	}
	return text
}

// safeNext keeps a redirect target on this site: a path of at most 512
// bytes, not "//host" or "/\\host" (which browsers read as another host),
// and without control characters — browsers drop tabs and newlines from a
// URL (WHATWG URL), so "/\t/evil.example" would become "//evil.example"
// (attack trial). Anything else is "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 512 ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

// addressOnly is the address of "host:port" without the port, which
// says nothing to a user (a browser opens a new one per connection).
func addressOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func remoteAddr(r *http.Request) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return &net.TCPAddr{}
	}
	return a
}

// ago is a short "last active" text.
func ago(d time.Duration) string {
	switch {
	case d < 5*time.Second:
		return "now"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s ago" // as `ls` gives idle time, in seconds
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d ago"
}
