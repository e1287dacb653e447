// Package web is the browser transport (SPEC §9): server-rendered pages,
// xterm.js bundled into the binary, a WebSocket that hands the same
// sessions.Manager a sessions.Conn with transport "web", HTTP login
// sessions whose tokens the store keeps only as SHA-256 hashes, one-time
// links for `ssh host weblink`, and a small JSON API.
//
// The package holds no login rules and parses no verbs of its own: a
// password goes through Config.Login (the one login path every transport
// uses), admin verbs through Config.Admin (the verb table admin.Verbs
// behind the admin socket and `ssh host sessions ...`), user verbs through
// sessions.Manager.Command. The admission gate SSH and telnet pass applies
// to it too (admit.go).
package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"termhost/admission"
	"termhost/persist"
	"termhost/seal"
	"termhost/sessions"
)

// LoginFunc checks a password for name on behalf of a client at remote and
// returns the account. It is the login path shared with SSH and telnet, so
// its per-source and per-account delays apply to the web too. For an
// unknown name with signup on it calls confirm before creating the account
// (auth.LoginRequest.ConfirmSignup); confirm's error is returned as is.
type LoginFunc func(ctx context.Context, name, password string, remote net.Addr, confirm func(context.Context) error) (persist.User, error)

// AdminRunner runs admin verbs from the one verb table (admin.Verbs) for
// actor, as the admin socket and SSH do: Run a command line
// ("sessions list --json"), Act one session's verb (detach, kill,
// message) with its errors (admin.ErrUnknownVerb, admin.ErrBadArgs,
// sessions.ErrNoSession).
type AdminRunner interface {
	Run(ctx context.Context, actor string, args []string, stdout, stderr io.Writer) int
	Act(ctx context.Context, actor, verb, ref, text string, w io.Writer) error
}

// Store is the part of the store the web transport reads and writes.
type Store interface {
	persist.Logins
	GetUser(ctx context.Context, name string) (persist.User, error)
	AuditLog(ctx context.Context, limit int) ([]persist.AuditEntry, error)
}

// Config wires a Server.
type Config struct {
	Addr    string // listen address, e.g. ":8080"
	TLSCert string // PEM files; both set means HTTPS
	TLSKey  string
	// URL is the public base URL printed in one-time links (e.g.
	// "https://term.example.org"); empty derives it from the address the
	// SSH client connected to and this listener's port.
	URL string
	// Proxy, when not nil (proxy_protocol: on), reads the PROXY header a
	// trusted load balancer puts in front of each connection, so every
	// per-source rule (conn_rate, the sign-in and terminal caps, the login
	// delays) sees the browser's address, not the balancer's (SPEC §6).
	Proxy *admission.Trust

	Store   Store
	Login   LoginFunc
	Signup  bool // allow_signup: the sign-in page says an unknown name makes an account
	Manager *sessions.Manager
	Admin   AdminRunner
	// ConnRate limits new connections per source, shared with SSH and
	// telnet (conn_rate); over it a connection's request gets 429 (admit.go).
	// nil admits everything.
	ConnRate interface{ Allow(source string) bool }
	// Admission is the node's gate, shared with SSH and telnet: a login
	// attempt holds one of its unauthenticated slots (max_unauthenticated,
	// _per_source) while it runs (admit.go); nil: no cap.
	Admission *admission.Gate

	LoginIdle    time.Duration // web_login_idle: a login unused this long is refused (default 12h)
	LoginMax     time.Duration // web_login_max: a login older than this is refused (default 7d)
	LinkTTL      time.Duration // a one-time link's life (default 60s, SPEC §9)
	LoginTimeout time.Duration // bounds one sign-in, waits for the shared login delays included (login_grace; default 30s)
	Now          func() time.Time
	Log          *slog.Logger
	// SealedLogins, when set, makes login cookies seals of this ring
	// (web_login: client, SPEC §10, sealedlogin.go); nil: tokens in the store.
	SealedLogins *seal.Ring
	// HeaderTimeout bounds the time a new connection may take to send
	// its request's headers (slowloris); 0: DefaultHeaderTimeout.
	HeaderTimeout time.Duration
	// MaxSocketsPerUser and MaxSocketsPerSource bound the terminal
	// WebSockets open at once for one user and from one source address,
	// as max_ssh_conns_per_user/_source bound SSH connections; over them
	// the upgrade gets 429 (admit.go). 0: DefaultMaxSocketsPerUser and
	// DefaultMaxSocketsPerSource.
	MaxSocketsPerUser, MaxSocketsPerSource int
	// Tickets, when set, sends pages their workspace tickets and takes
	// them back on reconnect (SPEC §10, ticket.go); nil: off.
	Tickets *Tickets
}

// Defaults of SPEC §9.
const (
	DefaultLoginIdle = 12 * time.Hour
	DefaultLoginMax  = 7 * 24 * time.Hour
	DefaultLinkTTL   = 60 * time.Second
	// DefaultHeaderTimeout is Config.HeaderTimeout's default.
	DefaultHeaderTimeout = 10 * time.Second
)

// Server is the web transport: an http.Handler plus, after Listen, its listener.
type Server struct {
	cfg    Config
	tokens loginBackend
	mux    *http.ServeMux
	tls    bool

	ln   net.Listener
	http *http.Server

	draining atomic.Bool
	stop     chan struct{} // closed by Close: ends the expiry sweep
	stopOnce sync.Once

	// mu guards conns, the live WebSockets and the login each serves
	// (caller.csrfKey: http.Server.Close leaves hijacked connections
	// alone, so Close ends them itself; a sign-out ends its login's), and
	// socketsOf, how many each user and each source hold (admit.go).
	mu        sync.Mutex
	conns     map[*websocket.Conn]string
	socketsOf map[string]int // "user:NAME" and "source:ADDR" → open terminal sockets
}

// New returns a Server for cfg with defaults filled in; it does not listen.
// Use it directly as an http.Handler in tests.
func New(cfg Config) *Server {
	if cfg.LoginIdle <= 0 {
		cfg.LoginIdle = DefaultLoginIdle
	}
	if cfg.LoginMax <= 0 {
		cfg.LoginMax = DefaultLoginMax
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.MaxSocketsPerUser <= 0 {
		cfg.MaxSocketsPerUser = DefaultMaxSocketsPerUser
	}
	if cfg.MaxSocketsPerSource <= 0 {
		cfg.MaxSocketsPerSource = DefaultMaxSocketsPerSource
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, tls: cfg.TLSCert != "" && cfg.TLSKey != "", conns: map[*websocket.Conn]string{},
		socketsOf: map[string]int{}, stop: make(chan struct{})}
	s.tokens = newLoginBackend(cfg)
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /link", s.redeemLink)
	m.HandleFunc("POST /link", s.switchByLink)
	m.HandleFunc("GET /s/{ref}", s.terminalPage)
	m.HandleFunc("POST /s/new", s.newSession)
	m.HandleFunc("GET /s/{ref}/end", s.endPage)
	m.HandleFunc("POST /s/{ref}/end", s.endSession)
	m.HandleFunc("GET /s/{ref}/ws", s.terminalSocket)
	m.HandleFunc("GET /admin", s.adminPage)
	m.HandleFunc("GET /admin/table", s.adminTable)
	m.HandleFunc("POST /admin/sessions/{id}/{verb}", s.adminAction)
	m.HandleFunc("GET /api/me", s.apiMe)
	m.HandleFunc("GET /api/sessions", s.apiSessions)
	m.HandleFunc("POST /api/sessions/{id}/{verb}", s.apiAction)
	m.Handle("GET /assets/", assetHandler())
	s.mux = m
}

// ServeHTTP implements http.Handler: security headers, the access log
// (one-time tokens redacted), then the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	h := w.Header()
	// xterm.js writes its theme and cell metrics into <style> elements it
	// creates, hence 'unsafe-inline' for styles (never for scripts).
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// A one-time link's token must not travel to another site in a
	// Referer. ("no-referrer" would also make browsers send "Origin: null"
	// on our own form posts, which the CSRF check refuses.)
	h.Set("Referrer-Policy", "same-origin")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if r2, done, ok := s.admit(rec, r); ok {
		r = s.renewLogin(rec, r2) // web_login: client: a new idle deadline
		s.mux.ServeHTTP(rec, r)
		done()
	}
	level := slog.LevelInfo
	if strings.HasPrefix(r.URL.Path, "/assets/") || r.URL.Path == "/admin/table" {
		level = slog.LevelDebug // static files and the admin page's 3 s refresh
	}
	s.cfg.Log.Log(r.Context(), level, "http", "method", r.Method, "path", redactedURL(r.URL), "status", rec.status,
		"remote", r.RemoteAddr, "ms", s.cfg.Now().Sub(start).Milliseconds())
}

// Listen binds cfg.Addr (and, with TLSCert and TLSKey, loads the key pair)
// and returns a Server ready to Serve. Errors name the address or the files.
func Listen(cfg Config) (*Server, error) {
	s := New(cfg)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.Addr, err)
	}
	s.ln = cfg.Proxy.Listen("web", ln) // the header comes before TLS
	s.http = s.HTTPServer()
	if s.tls {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("tls_cert %s / tls_key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		// HTTP/1.1 only: the terminal's WebSocket upgrade hijacks an
		// HTTP/1.1 connection, and a browser that spoke HTTP/2 to the pages
		// could try WebSockets over HTTP/2 (RFC 8441) on the same connection.
		s.http.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	return s, nil
}

// HTTPServer is the http.Server Listen serves s with: s as the handler,
// conn_rate per connection (ConnContext), and the bounds a slow or greedy
// client meets — headers within HeaderTimeout (slowloris), a whole request
// within 30 s, at most MaxHeaderBytes of headers (431 above: huge
// cookies). Tests serve it with httptest.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ConnContext:       s.ConnContext, // conn_rate, once per connection (admit.go)
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
	}
}

// MaxHeaderBytes bounds a request's headers, cookies included (net/http
// allows 4 KiB more before it answers 431).
const MaxHeaderBytes = 16 << 10

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the server speaks HTTPS.
func (s *Server) TLS() bool { return s.tls }

// Serve answers requests until Close, and meanwhile removes expired
// logins and links from the store every sweepEvery.
func (s *Server) Serve() error {
	go s.sweepLoop()
	var err error
	if s.tls {
		err = s.http.ServeTLS(s.ln, "", "")
	} else {
		err = s.http.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Drain marks the node as going down: pages whose terminals the shutdown
// detaches are told to reconnect (close code 4001) rather than to stop.
// Call it before sessions.Manager.Shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the listener, the expiry sweep and every WebSocket still
// open. It may be called more than once.
func (s *Server) Close() error {
	s.Drain()
	s.stopOnce.Do(func() { close(s.stop) })
	var err error
	if s.http != nil {
		err = s.http.Close()
	}
	s.mu.Lock()
	conns := s.conns
	s.conns = map[*websocket.Conn]string{}
	s.mu.Unlock()
	for c := range conns {
		c.CloseNow()
	}
	return err
}

// sweepEvery is how often Serve removes expired logins and links: a login
// is refused from the instant it expires, so this only bounds the table.
const sweepEvery = 10 * time.Minute

func (s *Server) sweepLoop() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n, err := s.SweepExpired(ctx); err != nil {
				s.cfg.Log.Error("sweep expired web logins", "err", err)
			} else if n > 0 {
				s.cfg.Log.Info("swept expired web logins", "logins", n)
			}
			cancel()
		}
	}
}

// SweepExpired removes the logins and one-time links that have expired by
// the server's clock and returns how many logins went. Serve calls it every
// sweepEvery; in a cluster any node may, as often as it likes.
func (s *Server) SweepExpired(ctx context.Context) (int, error) {
	return s.cfg.Store.DeleteExpiredLogins(ctx, s.cfg.Now())
}

// track records a live terminal socket of login (caller.csrfKey).
func (s *Server) track(c *websocket.Conn, login string) {
	s.mu.Lock()
	s.conns[c] = login
	s.mu.Unlock()
}

// endLogin closes every terminal socket of login on this node, saying why
// (the page then stays, as after a takeover); it returns how many. Other
// nodes' sockets of it end at their next keep-alive (20 s).
func (s *Server) endLogin(login string) int {
	s.mu.Lock()
	var ended []*websocket.Conn
	for c, l := range s.conns {
		if l == login {
			ended = append(ended, c)
		}
	}
	s.mu.Unlock()
	for _, c := range ended {
		go c.Close(CloseEnded, closeReason(sessions.SignedOut)) // the close handshake may wait for the page
	}
	return len(ended)
}

func (s *Server) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// statusRecorder remembers the status for the access log and passes
// Hijack through for WebSockets.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach
// the connection underneath.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("web: connection cannot be hijacked")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}
