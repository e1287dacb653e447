// Package admission decides, the same way for every transport (SSH, telnet,
// and the web transport to come), whether a new connection may start
// logging in: a token bucket of new connections per source, a node-wide cap
// on connections that have not logged in yet and a lower cap per source, and
// login_grace as an absolute deadline from accept to login (SPEC §2, §7).
// When the node-wide cap is full, a connection from a source holding fewer
// slots than another takes the oldest slot of the source holding the most
// (that connection is closed), so a few addresses at their per-source cap
// cannot lock out everyone else.
// It also decides which address a connection comes from when a trusted
// proxy puts a PROXY header in front of it (SPEC §6, proxy.go).
package admission

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"termhost/auth"
)

// Reasons Admit refuses a connection; transports tell the client a sentence
// and log the error.
var (
	ErrRate        = errors.New("too many new connections from this address")
	ErrFull        = errors.New("too many connections are logging in")
	ErrSourceFull  = errors.New("too many connections from this address are logging in")
	ErrProxyHeader = errors.New("no valid PROXY header from a trusted proxy")
)

// DefaultGrace is login_grace's default (SPEC §2).
const DefaultGrace = 30 * time.Second

// Config sets a Gate's limits. Zero values switch a limit off, except Grace.
type Config struct {
	// Rate limits new connections per source (conn_rate, conn_burst); nil
	// admits every connection.
	Rate *ConnRate
	// MaxUnauth caps connections that have not logged in yet, node-wide
	// (max_unauthenticated). At the cap, a source that would still hold
	// fewer than the biggest holder is admitted by closing that holder's
	// oldest unauthenticated connection (Admit).
	MaxUnauth int
	// MaxUnauthPerSource caps them per source address
	// (max_unauthenticated_per_source), so one address cannot take the
	// node-wide slots from everyone else.
	MaxUnauthPerSource int
	// Grace is the time from accept to a successful login (login_grace);
	// 0 means DefaultGrace.
	Grace time.Duration
	// Metrics is told every refusal's reason (SPEC §11: rate, unauth_cap,
	// source_cap, proxy_header); nil: nobody.
	Metrics interface{ Refused(reason string) }
	// Log receives one WARN line per refusal, at most one per reason per
	// second (the rest are counted as "suppressed"), and one INFO line per
	// login grace that runs out; nil means slog.Default.
	Log *slog.Logger
	// Clock is the refusal log's clock (its Now); nil means the wall clock.
	// An interface, not a func, so that a Config stays comparable.
	Clock interface{ Now() time.Time }
}

// Gate admits connections for every transport of a node.
type Gate struct {
	cfg      Config
	refusals *refusalLog

	// Lock order: mu → Ticket.mu (eviction marks its victim under mu);
	// Ticket.end takes Ticket.mu and then mu, never both at once.
	mu       sync.Mutex           // guards total, bySource, seq and every Ticket's counted and timer
	seq      uint64               // tickets admitted so far
	total    int                  // connections admitted and not yet logged in or gone
	bySource map[string][]*Ticket // the same per source, oldest first; a source with none has no entry
}

// New returns a gate with cfg's limits.
func New(cfg Config) *Gate {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	now := time.Now
	if cfg.Clock != nil {
		now = cfg.Clock.Now
	}
	return &Gate{cfg: cfg, refusals: newRefusalLog(cfg.Log, DefaultRefusalEvery, now), bySource: map[string][]*Ticket{}}
}

// Grace is the login grace connections get.
func (g *Gate) Grace() time.Duration { return g.cfg.Grace }

// Pending reports how many connections are logging in, in total and from
// source (a key from auth.SourceOf).
func (g *Gate) Pending(source string) (total, fromSource int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, len(g.bySource[source])
}

// proxied is a connection whose address came from a PROXY header: ProxyErr
// reports a missing or bad header (see Trust.Listen).
type proxied interface{ ProxyErr() error }

// Admit decides whether conn, accepted by transport (ssh|telnet|web, for
// the log lines), may start logging in. The source is
// conn.RemoteAddr() (after a trusted PROXY header). On success the returned
// Ticket holds one unauthenticated slot and arms the login grace: if the
// transport has not called Ticket.LoggedIn within Grace, expire runs (nil:
// conn.Close). expire must end the connection; it runs on its own goroutine.
//
// When MaxUnauth is reached, the connection is still admitted if its source
// would hold fewer slots than the source holding the most: that source's
// oldest unauthenticated connection is ended (its expire runs) to make
// room, so eight addresses at the per-source cap of eight cannot lock a
// ninth out of 64 slots (issue 8).
//
// Errors: ErrProxyHeader (a trusted proxy sent no valid header), ErrRate,
// ErrSourceFull, or ErrFull (every source holds as few slots as this one
// would), each wrapped with the source address. The gate counts and logs
// the refusal (rate-limited); the caller closes conn.
func (g *Gate) Admit(transport string, conn net.Conn, expire func()) (*Ticket, error) {
	if p, ok := conn.(proxied); ok {
		if err := p.ProxyErr(); err != nil {
			return nil, g.refuse(transport, conn, "proxy_header", err)
		}
	}
	src := auth.SourceOf(conn.RemoteAddr())
	if !g.cfg.Rate.Allow(src) {
		return nil, g.refuse(transport, conn, "rate", fmt.Errorf("%s: %w", src, ErrRate))
	}
	return g.Hold(transport, conn, expire)
}

// Hold is Admit without the connection rate, for a transport that took
// the rate token already when the connection came and now starts a login
// on it (the web: one sign-in request on a kept-alive connection). Errors:
// ErrSourceFull or ErrFull, wrapped with the source.
func (g *Gate) Hold(transport string, conn net.Conn, expire func()) (*Ticket, error) {
	src := auth.SourceOf(conn.RemoteAddr())
	if expire == nil {
		expire = func() { conn.Close() }
	}
	t := &Ticket{g: g, source: src, remote: conn.RemoteAddr(), deadline: time.Now().Add(g.cfg.Grace), expire: expire}
	g.mu.Lock()
	if n := g.cfg.MaxUnauthPerSource; n > 0 && len(g.bySource[src]) >= n {
		g.mu.Unlock()
		return nil, g.refuse(transport, conn, "source_cap", fmt.Errorf("%s: %w (%d)", src, ErrSourceFull, n))
	}
	var victim *Ticket
	if g.cfg.MaxUnauth > 0 && g.total >= g.cfg.MaxUnauth {
		// A ticket ending meanwhile may leave the cap without a victim.
		if victim = g.victim(src); victim == nil && g.total >= g.cfg.MaxUnauth {
			g.mu.Unlock()
			return nil, g.refuse(transport, conn, "unauth_cap", fmt.Errorf("%s: %w (%d)", src, ErrFull, g.cfg.MaxUnauth))
		}
	}
	g.seq++
	t.seq = g.seq
	g.total++
	g.bySource[src] = append(g.bySource[src], t)
	t.counted = true
	// Armed under mu: an eviction stops the timer of any ticket it sees.
	t.timer = time.AfterFunc(g.cfg.Grace, func() {
		if t.end(expired) {
			g.cfg.Log.Info("login grace expired; closing", "transport", transport, "remote", conn.RemoteAddr(), "grace", g.cfg.Grace)
			expire()
		}
	})
	g.mu.Unlock()
	if victim != nil {
		g.refusals.warn("evicted", "unauthenticated connection closed to admit a source holding fewer",
			"transport", transport, "remote", victim.remote, "for", conn.RemoteAddr())
		go victim.expire()
	}
	return t, nil
}

// victim takes a slot from the source holding the most, for a connection
// from src at the node-wide cap: the oldest pending ticket of that source
// (ties: the source whose oldest ticket is oldest), if src would still hold
// fewer slots than it. It removes the ticket from the counts and marks it
// evicted; the caller runs its expire. nil: nothing fair to take. g.mu is
// held.
func (g *Gate) victim(src string) *Ticket {
	have := len(g.bySource[src])
	var from string
	most := 0
	for k, ts := range g.bySource {
		if len(ts) > most || (len(ts) == most && ts[0].seq < g.bySource[from][0].seq) {
			from, most = k, len(ts)
		}
	}
	if have+1 >= most {
		return nil
	}
	for len(g.bySource[from]) > 0 {
		v := g.bySource[from][0]
		v.mu.Lock()
		ok := v.state == pending
		if ok {
			v.state = evicted
		}
		v.mu.Unlock()
		g.uncount(v) // a ticket ending meanwhile frees nothing twice
		if ok {
			v.timer.Stop()
			return v
		}
	}
	return nil
}

// refuse reports a refusal to the metrics and the (rate-limited) log and
// returns err.
func (g *Gate) refuse(transport string, conn net.Conn, reason string, err error) error {
	if g.cfg.Metrics != nil {
		g.cfg.Metrics.Refused(reason)
	}
	g.refusals.warn(reason, "connection refused", "transport", transport, "remote", conn.RemoteAddr(), "err", err)
	return err
}

func (g *Gate) free(t *Ticket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.uncount(t)
}

// uncount takes t out of the counts, once. g.mu is held.
func (g *Gate) uncount(t *Ticket) {
	if !t.counted {
		return
	}
	t.counted = false
	g.total--
	ts := g.bySource[t.source]
	if i := slices.Index(ts, t); i >= 0 {
		ts = slices.Delete(ts, i, i+1)
	}
	if len(ts) == 0 {
		delete(g.bySource, t.source)
	} else {
		g.bySource[t.source] = ts
	}
}

// Ticket is one admitted connection's unauthenticated slot and login grace.
// Its methods are safe from any goroutine and idempotent.
type Ticket struct {
	g        *Gate
	source   string
	remote   net.Addr
	deadline time.Time
	timer    *time.Timer // set under g.mu before Admit returns
	expire   func()      // ends the connection (grace expired or evicted)
	seq      uint64      // admission order, for picking the oldest
	counted  bool        // holds a slot in g's counts; guarded by g.mu

	mu    sync.Mutex // guards state
	state ticketState
}

type ticketState int

const (
	pending  ticketState = iota // counted, grace running
	loggedIn                    // the connection logged in in time
	expired                     // the grace ran out first
	released                    // the connection left before logging in
	evicted                     // its slot went to a source holding fewer (Admit)
)

// Source is the connection's source key (auth.SourceOf of its real address).
func (t *Ticket) Source() string { return t.source }

// Deadline is the instant the grace ends: bound every wait of the login
// (password delays, hashing) by it.
func (t *Ticket) Deadline() time.Time { return t.deadline }

// LoggedIn ends the grace after a successful login and frees the slot. It
// returns false when the grace had already run out or the slot was taken
// for another source: the connection is being ended and must not be served.
func (t *Ticket) LoggedIn() bool {
	t.end(loggedIn)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == loggedIn
}

// Release frees the slot of a connection that leaves without logging in.
func (t *Ticket) Release() { t.end(released) }

// end moves a pending ticket to state and frees its slot; it reports
// whether this call did so.
func (t *Ticket) end(state ticketState) bool {
	t.mu.Lock()
	if t.state != pending {
		t.mu.Unlock()
		return false
	}
	t.state = state
	t.mu.Unlock()
	if state != expired {
		t.timer.Stop()
	}
	t.g.free(t)
	return true
}
