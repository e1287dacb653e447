package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// webClient is a cookie-keeping HTTP client of one browser, redirects not followed.
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newWebClient(t *testing.T, s *server) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: "http://" + s.httpAddr, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *webClient) cookie(name string) string {
	u, _ := url.Parse(w.base)
	for _, c := range w.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (w *webClient) status(method, path string, form url.Values) int {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.base+path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *webClient) signIn(user, password string) {
	w.t.Helper()
	w.status("GET", "/", nil) // the form's CSRF cookie
	if got := w.status("POST", "/login", url.Values{"csrf": {w.cookie("termhost_csrf")}, "user": {user}, "password": {password}}); got != http.StatusSeeOther {
		w.t.Fatalf("sign in as %s: %d, want 303", user, got)
	}
}

// TestSealedLoginKeyRing: a real server with web_login: client — the login
// cookie is a seal, nothing per login lands in the store, the cookie
// survives a restart (the ring is in DATA/secrets) and a `keys rotate`,
// and stops opening on the running server once `keys retire` removes its
// key (the server re-reads the ring every 2 s). SPEC §10.
func TestSealedLoginKeyRing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "termhost.yaml")
	if err := os.WriteFile(cfg, []byte("web_login: client\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dir, "--config", cfg, "--http-addr", "127.0.0.1:0")
	if !strings.Contains(s.out.String(), "web logins: client") {
		t.Fatalf("startup does not say web logins are client-side:\n%s", s.out.String())
	}
	if out, err := s.run("pw-alice\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	keyIDs := func() []string {
		t.Helper()
		out, err := s.run("", "keys", "list", "--json")
		if err != nil {
			t.Fatalf("keys list: %v\n%s", err, out)
		}
		var ks []struct{ ID string }
		if err := json.Unmarshal([]byte(out), &ks); err != nil {
			t.Fatalf("keys list --json: %v\n%s", err, out)
		}
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		return ids
	}
	first := keyIDs()
	if len(first) != 1 {
		t.Fatalf("first start made %d keys, want 1", len(first))
	}
	b := newWebClient(t, s)
	b.signIn("alice", "pw-alice")
	if len(b.cookie("termhost_login")) < 100 {
		t.Fatalf("login cookie %q does not look like a seal", b.cookie("termhost_login"))
	}
	me := func() int { return b.status("GET", "/api/me", nil) }
	tests := []struct {
		name string
		do   func()
		want int
	}{
		{"signed in", func() {}, http.StatusOK},
		{"after keys rotate", func() {
			if out, err := s.run("", "keys", "rotate"); err != nil {
				t.Fatalf("keys rotate: %v\n%s", err, out)
			}
		}, http.StatusOK},
		{"after a restart", func() {
			s.stop()
			s.restart()
			b.base = "http://" + s.httpAddr
		}, http.StatusOK},
		{"after keys retire of its key", func() {
			if out, err := s.run("", "keys", "retire", first[0]); err != nil {
				t.Fatalf("keys retire: %v\n%s", err, out)
			}
			deadline := time.Now().Add(10 * time.Second) // the server re-reads every 2 s
			for me() == http.StatusOK && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
		}, http.StatusUnauthorized},
		{"signed in again with the new key", func() { b.signIn("alice", "pw-alice") }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if got := me(); got != tt.want {
				t.Fatalf("/api/me: %d, want %d", got, tt.want)
			}
		})
	}
	if ids := keyIDs(); len(ids) != 1 || ids[0] == first[0] {
		t.Fatalf("keys after rotate and retire: %v", ids)
	}
	out, err := s.run("", "logins", "list", "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("logins list: %v %s; want no stored login", err, out)
	}
}
