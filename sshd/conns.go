package sshd

import (
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
}

// DefaultLimits are the config defaults of max_ssh_conns_per_user (32),
// max_ssh_conns_per_source (64) and ssh_session_grace (30 s).
func DefaultLimits() Limits {
	return Limits{PerUser: 32, PerSource: 64, SessionGrace: 30 * time.Second}
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

// connTable counts authenticated connections per user and per source.
type connTable struct {
	limits Limits

	mu       sync.Mutex     // guards byUser and bySource
	byUser   map[string]int // open counted connections per user; none: no entry
	bySource map[string]int // the same per source
}

func newConnTable(l Limits) *connTable {
	return &connTable{limits: l, byUser: map[string]int{}, bySource: map[string]int{}}
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

	mu       sync.Mutex  // guards the fields below; never held while calling out
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
	defer c.mu.Unlock()
	if c.user != "" || c.closed {
		return
	}
	c.user = user
	if err := c.table.add(user, c.ticket.Source()); err != nil {
		c.refused = err
		c.log.Warn("ssh connection refused after login", "transport", "ssh", "user", user, "remote", c.RemoteAddr(), "err", err)
		c.timer = time.AfterFunc(refusedLinger, func() { c.Close() })
		return
	}
	c.counted = true
	c.armLocked()
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
		if idle {
			c.log.Info("ssh connection ran no session within ssh_session_grace; closing", "transport", "ssh",
				"user", c.user, "remote", c.RemoteAddr(), "grace", c.grace)
			c.Close()
		}
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
}

func (c *boundedConn) sessionEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running--; c.running == 0 && c.counted {
		c.armLocked()
	}
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
		if counted {
			c.table.remove(user, c.ticket.Source())
		}
	})
	return c.Conn.Close()
}
