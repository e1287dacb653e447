package sshd

import (
	"container/list"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"termhost/admission"
)

// Limits bound what authenticated SSH connections may hold (SPEC §7:
// memory per connection stays within a few MiB whatever the client asks
// for; issue 8: 13,020 authenticated connections without a session held
// 745 MB and every file descriptor). 0 turns a bound off; Config.Limits
// nil means DefaultLimits.
type Limits struct {
	// PerUser caps authenticated connections per account name
	// (max_ssh_conns_per_user).
	PerUser int
	// PerSource caps authenticated connections per source, auth.SourceOf
	// of the real address (max_ssh_conns_per_source).
	PerSource int
	// SessionGrace is how long an authenticated connection may run no
	// session (no shell or exec running: none opened yet, or all ended)
	// before it is closed (ssh_session_grace).
	SessionGrace time.Duration
	// Sessionless caps, node-wide, the authenticated connections running
	// no session (max_ssh_sessionless). One over closes the connection
	// that has been without a session longest, not the newcomer: a real
	// client runs its shell milliseconds after login, so a flood from
	// many addresses (40 × PerSource is 2,560 connections, ≈190 MiB) cycles
	// through its own connections and locks nobody out.
	Sessionless int
}

// DefaultLimits are the config defaults of max_ssh_conns_per_user (32),
// max_ssh_conns_per_source (64), ssh_session_grace (30 s) and
// max_ssh_sessionless (256).
func DefaultLimits() Limits {
	return Limits{PerUser: 32, PerSource: 64, SessionGrace: 30 * time.Second, Sessionless: 256}
}

// Per-connection bounds that are not config keys: no client needs more.
const (
	// MaxChannels is the most session channels one connection may hold
	// open at once (OpenSSH multiplexing uses one per command; 50,000
	// open channels cost 308 MB). Other channel types are refused.
	MaxChannels = 8
	// refusedLinger is how long a connection refused by a cap stays open
	// so that its client reads why on the channel it opens.
	refusedLinger = 2 * time.Second
)

// Reasons an authenticated connection is refused; the client reads the
// sentence as the reason its channel open failed ("resource shortage").
var (
	ErrUserConns   = errors.New("too many SSH connections for this user")
	ErrSourceConns = errors.New("too many SSH connections from this address")
	ErrChannels    = errors.New("too many channels open on this connection")
)

// connTable counts authenticated connections per user and per source and
// keeps the ones running no session in the order they became so.
type connTable struct {
	limits Limits
	// refusals and evictions rate-limit their log lines: a flood makes one
	// per connection.
	refusals, evictions, expiries logEvery

	mu       sync.Mutex     // guards the fields below; taken after a boundedConn.mu, never before one
	byUser   map[string]int // open counted connections per user; none: no entry
	bySource map[string]int // the same per source
	idle     *list.List     // of *boundedConn running no session, longest first
	idleAt   map[*boundedConn]*list.Element
}

func newConnTable(l Limits) *connTable {
	return &connTable{limits: l, byUser: map[string]int{}, bySource: map[string]int{},
		idle: list.New(), idleAt: map[*boundedConn]*list.Element{}}
}

// idleAdd puts c last among the connections running no session and
// returns the one to close when that makes more than limits.Sessionless
// (nil: none). The caller closes it without holding any lock.
func (t *connTable) idleAdd(c *boundedConn) *boundedConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.idleAt[c]; !ok {
		t.idleAt[c] = t.idle.PushBack(c)
	}
	if t.limits.Sessionless <= 0 || t.idle.Len() <= t.limits.Sessionless {
		return nil
	}
	victim := t.idle.Remove(t.idle.Front()).(*boundedConn)
	delete(t.idleAt, victim)
	return victim
}

// idleRemove takes c out of the sessionless list (it runs a session now,
// or is closing).
func (t *connTable) idleRemove(c *boundedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.idleAt[c]; ok {
		t.idle.Remove(e)
		delete(t.idleAt, c)
	}
}

// evict closes a connection idleAdd chose. No lock may be held.
func evict(victim *boundedConn) {
	if victim == nil {
		return
	}
	if ok, suppressed := victim.table.evictions.allow(time.Now()); ok {
		victim.log.Info("ssh connection without a session closed to make room (max_ssh_sessionless)", "transport", "ssh",
			"user", victim.userName(), "remote", victim.RemoteAddr(), "max", victim.table.limits.Sessionless, "suppressed", suppressed)
	}
	victim.Close()
}

// logEvery lets one log line a second through and counts the others.
type logEvery struct {
	mu         sync.Mutex // guards the fields below; a leaf lock
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged at now, and how many were
// suppressed since the last one.
func (l *logEvery) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// add counts one connection of user from source, or returns ErrUserConns or
// ErrSourceConns (wrapped with the cap and its key) and counts nothing.
func (t *connTable) add(user, source string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.limits.PerUser > 0 && t.byUser[user] >= t.limits.PerUser:
		return fmt.Errorf("%w: %s has %d open (max_ssh_conns_per_user)", ErrUserConns, user, t.limits.PerUser)
	case t.limits.PerSource > 0 && t.bySource[source] >= t.limits.PerSource:
		return fmt.Errorf("%w: %s has %d open (max_ssh_conns_per_source)", ErrSourceConns, source, t.limits.PerSource)
	}
	t.byUser[user]++
	t.bySource[source]++
	return nil
}

func (t *connTable) remove(user, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byUser[user]--; t.byUser[user] <= 0 {
		delete(t.byUser, user)
	}
	if t.bySource[source]--; t.bySource[source] <= 0 {
		delete(t.bySource, source)
	}
}

// counts reports the open connections of user and of source (tests, logs).
func (t *connTable) counts(user, source string) (ofUser, ofSource int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byUser[user], t.bySource[source]
}

// boundedConn is one admitted SSH connection: it holds the admission ticket until
// login, then a slot in the connTable, and closes itself when it runs no
// session for SessionGrace. It is the net.Conn charm.land/ssh serves, so
// that every way a connection ends (client gone, timer, server Close)
// goes through Close and frees what it held.
type boundedConn struct {
	net.Conn
	ticket *admission.Ticket
	table  *connTable
	log    *slog.Logger
	once   sync.Once // Close's release

	mu       sync.Mutex  // guards the fields below; taken before connTable.mu
	user     string      // set by loggedIn
	counted  bool        // holds a slot in table
	refused  error       // over a cap: why; its channels are refused with it
	channels int         // session channels open
	running  int         // session handlers (shell, exec) running
	timer    *time.Timer // the session grace or the refusal's linger; nil while a session runs
	gen      int         // bumped per armed grace, so a stale timer that fired late does nothing
	grace    time.Duration
	closed   bool
}

// loggedIn counts the connection for user, once. Over a cap the connection
// is marked refused and closed after refusedLinger; otherwise the session
// grace starts.
func (c *boundedConn) loggedIn(user string) {
	c.mu.Lock()
	if c.user != "" || c.closed {
		c.mu.Unlock()
		return
	}
	c.user = user
	err := c.table.add(user, c.ticket.Source())
	if err != nil {
		c.refused = err
		c.timer = time.AfterFunc(refusedLinger, func() { c.Close() })
		c.mu.Unlock()
		if ok, suppressed := c.table.refusals.allow(time.Now()); ok {
			c.log.Warn("ssh connection refused after login", "transport", "ssh", "user", user, "remote", c.RemoteAddr(), "err", err, "suppressed", suppressed)
		}
		return
	}
	c.counted = true
	c.armLocked()
	victim := c.table.idleAdd(c)
	c.mu.Unlock()
	evict(victim)
}

func (c *boundedConn) userName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// armLocked starts the session grace. c.mu is held.
func (c *boundedConn) armLocked() {
	if c.grace <= 0 || c.closed || c.timer != nil {
		return
	}
	c.gen++
	gen := c.gen
	c.timer = time.AfterFunc(c.grace, func() {
		c.mu.Lock()
		idle := c.gen == gen && c.timer != nil && c.running == 0 && !c.closed
		c.mu.Unlock()
		if !idle {
			return
		}
		if ok, suppressed := c.table.expiries.allow(time.Now()); ok {
			c.log.Info("ssh connection ran no session within ssh_session_grace; closing", "transport", "ssh",
				"user", c.userName(), "remote", c.RemoteAddr(), "grace", c.grace, "suppressed", suppressed)
		}
		c.Close()
	})
}

// openChannel takes one of the connection's MaxChannels session channels;
// the error is the sentence the client reads.
func (c *boundedConn) openChannel() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.refused != nil:
		return c.refused
	case c.channels >= MaxChannels:
		return fmt.Errorf("%w (%d)", ErrChannels, MaxChannels)
	}
	c.channels++
	return nil
}

func (c *boundedConn) closeChannel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels--
}

// sessionStarted stops the session grace while a shell or exec runs;
// sessionEnded starts it again when the last one ends.
func (c *boundedConn) sessionStarted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running++
	if c.timer != nil && c.refused == nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.table.idleRemove(c)
}

func (c *boundedConn) sessionEnded() {
	c.mu.Lock()
	var victim *boundedConn
	if c.running--; c.running == 0 && c.counted && !c.closed {
		c.armLocked()
		victim = c.table.idleAdd(c)
	}
	c.mu.Unlock()
	evict(victim)
}

// Close frees the connection's admission slot or its user and source
// slots, stops its timer and closes the socket. Safe to call more than once.
func (c *boundedConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		if c.timer != nil {
			c.timer.Stop()
		}
		counted, user := c.counted, c.user
		c.counted = false
		c.mu.Unlock()
		c.ticket.Release()
		c.table.idleRemove(c)
		if counted {
			c.table.remove(user, c.ticket.Source())
		}
	})
	return c.Conn.Close()
}
