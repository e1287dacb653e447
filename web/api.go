package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"termhost/admin"
	"termhost/persist"
	"termhost/sessions"
)

// apiCaller authenticates a JSON request; without a valid login it answers
// 401 (SPEC §9) and returns false.
func (s *Server) apiCaller(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, err := s.authenticate(r)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, errNoLogin), errors.Is(err, persist.ErrExpired):
		w.Header().Set("WWW-Authenticate", `Bearer realm="termhost"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in required: " + err.Error()})
	default:
		s.cfg.Log.Error("check login", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unavailable"})
	}
	return c, false
}

// apiMe tells a page or script who it is signed in as, and the CSRF token
// a cookie-authenticated script must echo in X-CSRF-Token.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiCaller(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": c.user.Name, "admin": c.user.Admin, "csrf": csrfFor(c.csrfKey),
		"login_expires_at": c.login.ExpiresAt, "login_idle_until": c.login.IdleUntil})
}

// apiSessions is GET /api/sessions: the caller's sessions as
// `ssh host ls --json` prints them; ?all=1 (admins) every session as
// `termhost sessions list --json` prints them. Both come from the verbs
// themselves, so the fields are the same by construction.
func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiCaller(w, r)
	if !ok {
		return
	}
	var out, errOut bytes.Buffer
	var code int
	if r.URL.Query().Get("all") == "1" {
		if !c.user.Admin {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": c.user.Name + " is not an admin"})
			return
		}
		code = s.cfg.Admin.Run(r.Context(), c.user.Name, []string{"sessions", "list", "--json"}, &out, &errOut)
	} else {
		code = s.cfg.Manager.Command(r.Context(), c.user, []string{"ls", "--json"}, &out, &errOut)
	}
	if code != 0 {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": strings.TrimSpace(errOut.String())})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(out.Bytes())
}

// apiAction is POST /api/sessions/{id}/detach|kill|message (admins): the
// admin verb of the same name. A message's text comes as the form field
// "text" or JSON {"text": "..."}.
func (s *Server) apiAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	c, ok := s.apiCaller(w, r)
	if !ok {
		return
	}
	if err := s.checkCSRF(r, c); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return
	}
	if !c.user.Admin {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": c.user.Name + " is not an admin"})
		return
	}
	text := ""
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, bodyStatus(err), map[string]string{"error": "body: " + err.Error()})
			return
		}
		text = body.Text
	} else {
		if err := parseForm(r); err != nil {
			writeJSON(w, bodyStatus(err), map[string]string{"error": "body: " + err.Error()})
			return
		}
		text = r.PostFormValue("text")
	}
	out, status, err := s.runAdmin(r, c, r.PathValue("id"), r.PathValue("verb"), text)
	if err != nil {
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"output": strings.TrimSpace(out)})
}

// runAdmin runs one admin verb on session id through the admin verb table
// (admin.Runner.Act: the code `termhost sessions VERB` and SSH run) and
// maps its error to an HTTP status.
func (s *Server) runAdmin(r *http.Request, c caller, id, verb, text string) (string, int, error) {
	var out bytes.Buffer
	err := s.cfg.Admin.Act(r.Context(), c.user.Name, verb, id, strings.TrimSpace(text), &out)
	switch {
	case err == nil:
		return out.String(), http.StatusOK, nil
	case errors.Is(err, admin.ErrUnknownVerb):
		return "", http.StatusNotFound, err
	case errors.Is(err, admin.ErrBadArgs):
		return "", http.StatusBadRequest, err
	case errors.Is(err, sessions.ErrNoSession), errors.Is(err, persist.ErrNotFound):
		return "", http.StatusNotFound, err
	case errors.Is(err, sessions.ErrAmbiguous):
		return "", http.StatusConflict, err // the ref names several sessions: use the id
	}
	return "", http.StatusInternalServerError, err
}

// maxBody bounds a POST's body (forms, API calls): 16 KiB.
const maxBody = 16 << 10

// parseForm parses a POST's form, multipart or not, within maxBody (the
// caller set http.MaxBytesReader). Errors: *http.MaxBytesError when the
// body is larger, another when it is malformed (bodyStatus maps them).
func parseForm(r *http.Request) error {
	// ParseForm first: ParseMultipartForm answers ErrNotMultipart for an
	// urlencoded body and drops ParseForm's error with it.
	if err := r.ParseForm(); err != nil {
		return err
	}
	if err := r.ParseMultipartForm(maxBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return err
	}
	return nil
}

// bodyStatus is the status for a body that could not be read: 413 when it
// was over maxBody, else 400.
func bodyStatus(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
