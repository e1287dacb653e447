package web

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"termhost/admission"
	"termhost/auth"
)

// The admission gate on the HTTP listener (SPEC §2, §7; issue 11), the
// same one SSH and telnet pass:
//   - conn_rate: each new TCP connection spends one token of its source's
//     bucket (shared with SSH and telnet). Over the rate, the connection
//     is still read, but its request gets 429 with Retry-After and
//     "Connection: close" instead of a reset a browser would show as a
//     broken page.
//   - max_unauthenticated(_per_source): a login attempt (POST /login, GET
//     /link) holds one of the gate's unauthenticated slots while it runs,
//     so one address cannot park more sign-ins (each an argon2id hash and
//     the shared login delays) than the per-source cap; the excess get 429
//     with Retry-After. Requests with a login are never counted; pages,
//     assets and 401s are cheap and not counted either (a school lab
//     behind one address loads the sign-in page at once).

// connVerdictKey holds a connection's conn_rate verdict (connVerdict).
type connVerdictKey struct{}

// connVerdict is one connection's conn_rate verdict, taken once, at its
// first request.
type connVerdict struct {
	once    sync.Once
	conn    net.Conn
	refused bool
}

// ConnContext gives the new connection its conn_rate verdict, to be taken
// at its first request (admit). Not here: net/http calls ConnContext in
// its accept loop, and with proxy_protocol on, RemoteAddr waits for a
// trusted peer's PROXY header — one silent connection from the balancer
// held every accept for 30 s (re-attack trial). By the first request the
// header has been read. Listen installs it; a caller that serves a Server
// on its own http.Server sets it as that server's ConnContext.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if s.cfg.ConnRate == nil {
		return ctx
	}
	return context.WithValue(ctx, connVerdictKey{}, &connVerdict{conn: c})
}

// rateRefused spends r's connection's conn_rate token at its first request
// and reports whether it was over the rate (for every request of it).
func (s *Server) rateRefused(r *http.Request) bool {
	v, _ := r.Context().Value(connVerdictKey{}).(*connVerdict)
	if v == nil {
		return false
	}
	v.once.Do(func() {
		if !s.cfg.ConnRate.Allow(auth.SourceOf(v.conn.RemoteAddr())) {
			v.refused = true
			s.cfg.Log.Debug("connection rate exceeded; answering 429", "remote", v.conn.RemoteAddr(), "transport", "web")
		}
		v.conn = nil // the verdict outlives the need for the connection
	})
	return v.refused
}

// admit applies the gate to r before it is routed. It returns the request
// to serve (with a context the login grace cancels) and a func to call
// when it is done, or ok false after answering 429.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (_ *http.Request, done func(), ok bool) {
	if s.rateRefused(r) {
		w.Header().Set("Connection", "close") // the next try opens a new connection and spends a new token
		s.tooMany(w, r, s.rateRetry(), "Too many new connections from your address; try again in a moment.")
		return r, nil, false
	}
	if s.cfg.Admission == nil || !isLoginAttempt(r) {
		return r, func() {}, true
	}
	ctx, cancel := context.WithCancel(r.Context())
	t, err := s.cfg.Admission.Hold("web", requestConn{remote: remoteAddr(r)}, cancel)
	if err != nil {
		cancel()
		s.tooMany(w, r, time.Second, "Too many sign-ins from your address at once; try again in a moment.")
		return r, nil, false
	}
	return r.WithContext(ctx), func() { t.Release(); cancel() }, true
}

// isLoginAttempt reports whether r starts a login: the sign-in form or a
// one-time link.
func isLoginAttempt(r *http.Request) bool {
	return (r.Method == http.MethodPost && r.URL.Path == "/login") || (r.Method == http.MethodGet && r.URL.Path == "/link")
}

// rateRetry is when the source's bucket has a token again: 1/conn_rate,
// at least a second (Retry-After counts whole seconds).
func (s *Server) rateRetry() time.Duration {
	if cr, ok := s.cfg.ConnRate.(*admission.ConnRate); ok && cr.Rate > 0 {
		return max(time.Second, time.Duration(float64(time.Second)/cr.Rate))
	}
	return time.Second
}

// tooMany answers 429 with Retry-After (whole seconds, rounded up): JSON
// for the API, a sentence otherwise.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, retry time.Duration, text string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	if isAPI(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": text})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintln(w, text)
}

func isAPI(r *http.Request) bool { return len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/" }

// requestConn gives the gate a request's source: Gate.Hold reads only
// RemoteAddr (the embedded Conn is nil and never called).
type requestConn struct {
	net.Conn
	remote net.Addr
}

func (c requestConn) RemoteAddr() net.Addr { return c.remote }

// Defaults of Config.MaxSocketsPerUser and MaxSocketsPerSource: those of
// max_ssh_conns_per_user and _source (config.Defaults).
const (
	DefaultMaxSocketsPerUser   = 32
	DefaultMaxSocketsPerSource = 64
)

// reserveSocket counts one more terminal socket for user and r's source,
// or answers 429 and returns false when either is at its cap. A socket
// another one took over counts until it is really closed. Call the
// returned func when the socket is gone.
func (s *Server) reserveSocket(w http.ResponseWriter, r *http.Request, user string) (release func(), ok bool) {
	u, src := "user:"+user, "source:"+auth.SourceOf(remoteAddr(r))
	s.mu.Lock()
	if s.socketsOf[u] >= s.cfg.MaxSocketsPerUser || s.socketsOf[src] >= s.cfg.MaxSocketsPerSource {
		s.mu.Unlock()
		s.cfg.Log.Debug("too many terminal sockets; refusing", "user", user, "remote", r.RemoteAddr, "transport", "web")
		s.tooMany(w, r, time.Second, "Too many open terminals for this user or address; close some and try again.")
		return nil, false
	}
	s.socketsOf[u]++
	s.socketsOf[src]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, k := range []string{u, src} {
			if s.socketsOf[k]--; s.socketsOf[k] <= 0 {
				delete(s.socketsOf, k)
			}
		}
	}, true
}
