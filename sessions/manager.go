// Package sessions owns live sessions: their lifecycle and policy (SPEC §2),
// the clients attached to them, and the debounced snapshots that make them
// outlive connections and the process (SPEC §5). Transports hand it a Conn;
// it never sees SSH or telnet framing.
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"termhost/persist"
	"termhost/tui"
)

// Errors the manager returns.
var (
	ErrNoSession = errors.New("no such session")
	ErrAmbiguous = errors.New("ambiguous session name or id prefix")
	ErrTooMany   = errors.New("too many sessions")
	ErrBadName   = errors.New("invalid session name")
	errGone      = errors.New("session is no longer live")
)

// User is the authenticated person behind a connection.
type User struct {
	Name  string
	Admin bool
}

// Manager keeps the live sessions of this node.
type Manager struct {
	store   Store
	clock   Clock
	policy  Policy
	node    string
	reg     *tui.Registry
	log     *slog.Logger
	obs     Observer
	owner   persist.Owner // node id + this boot's id: the lease owner (ownership.go)
	addr    string        // what the node listens on, for its node record
	started time.Time
	onDrain func()    // asked to drain by another node (nodes drain)
	forward Forwarder // nil: no cluster link
	// onSnapshot is told every generation written (Config.OnSnapshot).
	onSnapshot func(Saved)
	// storeTimeout bounds the apps' store calls (Config.StoreTimeout).
	storeTimeout time.Duration

	released  broadcast    // fired when a lease this node waits for may be free
	storeDown bool         // renewals failing; only renewLoop's goroutine touches it
	upSince   atomic.Int64 // unix ns since renewals last began to succeed (sweepOrphans waits on it)
	renewing  atomic.Bool  // renewLoop runs (Start)
	draining  atomic.Bool

	// mu guards live, loading, gen and closed. It is never held while taking a
	// Session's locks or doing store I/O: callers copy m.live and unlock
	// first (see Session for the session locks' order).
	mu      sync.Mutex
	live    map[string]*Session
	loading map[string]chan struct{} // single-flight wake-ups
	gen     uint64                   // bumped per session entering live; Session.gen
	closed  bool

	stopListen context.CancelFunc // ends the Notifier subscriptions (Start)
	loopCtx    context.Context    // the background loops' store calls; cancelled by Shutdown
	loopCancel context.CancelFunc
	relay      chatRelay // chat from other nodes (chatrelay.go)

	chat chatHub // its mu guards its queue; taken alone, never with a Session lock
	// input is the node's input budget, shared by every connection's key
	// reader (input.go); its mu is a leaf.
	input nodeInput

	stop chan struct{}
	wg   sync.WaitGroup
}

// Config collects a Manager's dependencies.
type Config struct {
	Store    Store
	Clock    Clock
	Policy   Policy
	Node     string
	Registry *tui.Registry
	Log      *slog.Logger
	// Metrics is told frame latencies (SPEC §11); nil: nobody.
	Metrics Observer
	// Boot is this start's boot id (SPEC §6); empty draws one.
	Boot string
	// Addr says what the node listens on, for `nodes list`.
	Addr string
	// OnDrain is called (on its own goroutine) when another node asks this
	// one to drain (`termhost nodes drain ID`); nil ignores the request.
	OnDrain func()
	// Forwarder carries `attach --shared` clients to the node that runs
	// the session (SPEC §6); nil: a shared attach takes the session over
	// by hand-off instead.
	Forwarder Forwarder
	// OnSnapshot, when set, is called after each snapshot generation a
	// session writes (SPEC §10: the web transport seals it into a
	// workspace ticket for the session's web clients). It runs on the
	// writing goroutine with no lock held and must not block.
	OnSnapshot func(Saved)
	// StoreTimeout bounds each store call an app makes (tui.Env.Go);
	// 0 means tui.StoreTimeout. Tests inject a short one.
	StoreTimeout time.Duration
}

// Saved is one snapshot generation just written (Config.OnSnapshot).
// Data is the workspace payload before persist.Seal, as tui.Restore reads
// it; the callee must not modify it.
type Saved struct {
	SessionID, Owner, Name string
	Gen                    int64
	Data                   []byte
}

// Forwarder connects a client of this node to a session another node
// runs, as one more client there, until either side ends (cluster.Link).
type Forwarder interface {
	Forward(ctx context.Context, node string, conn Conn, info ClientInfo, u User, sessionID string) error
}

// NewManager returns a manager; call Start to run its policy sweeper.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noObserver{}
	}
	if cfg.Policy.FlushDelay <= 0 {
		cfg.Policy.FlushDelay = 100 * time.Millisecond
	}
	if cfg.Policy.LeaseTTL <= 0 {
		cfg.Policy.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Boot == "" {
		cfg.Boot = newBoot()
	}
	loopCtx, loopCancel := context.WithCancel(context.Background())
	return &Manager{store: cfg.Store, clock: cfg.Clock, policy: cfg.Policy, node: cfg.Node, reg: cfg.Registry, log: cfg.Log, obs: cfg.Metrics,
		loopCtx: loopCtx, loopCancel: loopCancel,
		owner: persist.Owner{Node: cfg.Node, Boot: cfg.Boot}, addr: cfg.Addr, started: time.Now(), onDrain: cfg.OnDrain, forward: cfg.Forwarder, onSnapshot: cfg.OnSnapshot,
		storeTimeout: cfg.StoreTimeout,
		live:         map[string]*Session{}, loading: map[string]chan struct{}{}, stop: make(chan struct{}),
		chat: chatHub{wake: make(chan struct{}, 1)}, relay: chatRelay{delivered: map[int64]bool{}}}
}

// Start recovers the sessions an earlier boot of this node ran (they
// become hibernated: their last snapshot is in the store), announces the
// node, and starts the sweeper, the lease renewer and the chat relay.
func (m *Manager) Start(ctx context.Context) error {
	recs, err := m.store.ListSessions(ctx, persist.SessionFilter{})
	if err != nil {
		return fmt.Errorf("recover sessions: %w", err)
	}
	for _, r := range recs {
		if r.Node != m.node || (r.State != persist.StateAttached && r.State != persist.StateDetached) {
			continue
		}
		logErr(m.log, "recover session", m.retire(ctx, r, "server restarted"), "session", r.ID)
	}
	// A drain left for an earlier run of this node is not this run's: it
	// would stop the node right after an operator started it again. Taken
	// before the first heartbeat, so nothing posted for this run (which is
	// seen alive only from then) is dropped; other requests name sessions
	// this run does not have and are answered as usual.
	pending, err := m.store.TakeRequests(ctx, m.node)
	if err != nil {
		return fmt.Errorf("take requests: %w", err)
	}
	for _, r := range pending {
		if r.Kind == persist.RequestDrain {
			m.log.Info("drain request left for an earlier run of this node dropped", "actor", r.Actor, "at", r.At)
			continue
		}
		m.serveRequest(ctx, r)
	}
	// Listen before the first renewal, so no request posted after it is
	// missed for longer than a poll.
	lctx, cancel := context.WithCancel(context.Background())
	wakeups, err := m.store.Listen(lctx, persist.NodeChannel(m.node))
	if err != nil {
		cancel()
		return fmt.Errorf("listen for requests: %w", err)
	}
	chat, err := m.store.Listen(lctx, persist.ChatChannel)
	if err != nil {
		cancel()
		return fmt.Errorf("listen for chat: %w", err)
	}
	listings, err := m.store.Listen(lctx, persist.SessionsChannel)
	if err != nil {
		cancel()
		return fmt.Errorf("listen for session changes: %w", err)
	}
	m.stopListen = cancel
	if err := m.relay.start(ctx, m); err != nil {
		cancel()
		return err
	}
	m.wg.Add(5)
	go m.sweepLoop()
	go m.chatLoop()
	go m.renewLoop(wakeups)
	go m.relayLoop(chat)
	go m.listingsLoop(listings)
	return nil
}

// retire marks a session that no process runs (an earlier boot of this
// node, or a dead node) hibernated: its lease is taken, the record written
// and the lease released, so exactly one node does it.
func (m *Manager) retire(ctx context.Context, r persist.Session, why string) error {
	l, err := m.store.AcquireLease(ctx, r.ID, m.owner, m.policy.LeaseTTL)
	if errors.Is(err, persist.ErrLeaseHeld) && l.Owner.Node == m.node && l.Owner.Boot != m.owner.Boot {
		if err := m.store.ReleaseLease(ctx, r.ID, persist.Fence{Node: m.node, Epoch: l.Epoch}); err != nil && !errors.Is(err, persist.ErrLeaseLost) {
			return err
		}
		l, err = m.store.AcquireLease(ctx, r.ID, m.owner, m.policy.LeaseTTL)
	}
	if err != nil {
		return err
	}
	if r, err = m.store.GetSession(ctx, r.ID); err != nil {
		return err
	}
	if r.State != persist.StateAttached && r.State != persist.StateDetached {
		m.release(ctx, persist.Session{ID: r.ID, Epoch: l.Epoch}, "")
		return nil // someone else retired or ended it first
	}
	r.Epoch = l.Epoch
	r.State = persist.StateHibernated
	r.Attachments = nil
	if r.DetachedAt.IsZero() {
		r.DetachedAt = m.clock.Now()
	}
	if err := m.store.UpdateSession(ctx, r); err != nil {
		return err
	}
	m.release(ctx, r, "")
	m.event(r.ID, "hibernated", "system", "", why)
	return nil
}

// Policy returns the manager's policy.
func (m *Manager) Policy() Policy { return m.policy }

func (m *Manager) sweepLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.policy.sweepInterval())
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.Sweep(m.loopCtx)
		}
	}
}

// Shutdown flushes every live session, tells clients why they are
// disconnected and leaves the sessions hibernated. It is idempotent.
func (m *Manager) Shutdown(ctx context.Context, reason string) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.stop)
	live := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	// `nodes list` says draining at once, not at a next heartbeat that a
	// stopping node never sends.
	m.draining.Store(true)
	hctx, hcancel := context.WithTimeout(ctx, time.Second)
	logErr(m.log, "node heartbeat", m.store.Heartbeat(hctx, persist.Node{ID: m.node, Boot: m.owner.Boot, Addr: m.addr, Started: m.started, Draining: true}))
	hcancel()
	m.loopCancel() // a renewal or chat read in flight gives up now
	m.wg.Wait()
	// Several at once: each waits on its commands and a store write, and a
	// drain should take the time of the slowest session, not of all.
	sem := make(chan struct{}, shutdownParallel)
	var wg sync.WaitGroup
	for _, s := range live {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.hibernate(ctx, s, reason)
		})
	}
	wg.Wait()
	// The last heartbeat: `nodes list` says stopped at once, not draining
	// until this one is 1.5 lease TTLs old.
	hctx, hcancel = context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	logErr(m.log, "node heartbeat", m.store.Heartbeat(hctx, persist.Node{ID: m.node, Boot: m.owner.Boot, Addr: m.addr, Started: m.started, Draining: true, Stopped: true}))
	hcancel()
	if m.stopListen != nil {
		m.stopListen()
	}
}

// shutdownParallel is how many sessions Shutdown flushes at once.
const shutdownParallel = 8

// wakeTimeout bounds the store calls that create or wake a session (the
// client waits for them): a store that does not answer gives the user an
// error instead of a connection that hangs.
const wakeTimeout = 15 * time.Second

// newID returns 128 random bits as lowercase base32 (26 characters).
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Create starts a new session for u. An empty name picks the next free
// number. The workspace starts from the user's last workspace if any.
func (m *Manager) Create(ctx context.Context, u User, name string) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	mine, err := m.store.ListSessions(ctx, persist.SessionFilter{Owner: u.Name})
	if err != nil {
		return nil, err
	}
	// A quick refusal here; the store's own check (CreateSession's cap)
	// is the one that holds under concurrent creates on several nodes.
	if m.policy.MaxSessionsPerUser > 0 && len(mine) >= m.policy.MaxSessionsPerUser {
		return nil, fmt.Errorf("%w: %s has %d (limit %d)", ErrTooMany, u.Name, len(mine), m.policy.MaxSessionsPerUser)
	}
	if name == "" {
		name = nextName(mine)
	} else if err := validSessionName(name); err != nil {
		return nil, err
	}
	now := m.clock.Now()
	rec := persist.Session{ID: newID(), Owner: u.Name, Name: name, State: persist.StateDetached, Node: m.node,
		CreatedAt: now, LastInputAt: now, DetachedAt: now, Epoch: 1}
	// The Session exists before its workspace: the apps' Env runs their
	// commands on it, and they start once it is complete (ready).
	s := &Session{m: m}
	env := m.env(u, rec.ID, s.run)
	var ws *tui.Workspace
	if data, err := m.store.LastWorkspace(ctx, u.Name); err == nil {
		if payload, err := persist.Open(data); err != nil {
			m.log.Error("last workspace unreadable; starting fresh", "user", u.Name, "err", err)
		} else if restored, err := tui.Restore(m.reg, env, payload); err != nil {
			m.log.Error("last workspace unreadable; starting fresh", "user", u.Name, "err", err)
		} else {
			ws = restored
		}
	}
	if ws == nil {
		ws = tui.New(m.reg, env)
	}
	ws.SessionName = name
	rec.Apps = appsOf(ws)
	if err := m.store.CreateSession(ctx, rec, m.policy.MaxSessionsPerUser); err != nil {
		if errors.Is(err, persist.ErrLimit) {
			return nil, fmt.Errorf("%w: %s (limit %d): %w", ErrTooMany, u.Name, m.policy.MaxSessionsPerUser, err)
		}
		return nil, fmt.Errorf("create session %q: %w", name, err)
	}
	l, err := m.store.AcquireLease(ctx, rec.ID, m.owner, m.policy.LeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("create session %q: lease: %w", name, err)
	}
	rec.Epoch = l.Epoch
	s.rec, s.ws = rec, ws
	s.ready()
	m.mu.Lock()
	m.gen++
	s.gen = m.gen
	m.live[rec.ID] = s
	m.mu.Unlock()
	m.event(rec.ID, "created", u.Name, "", name)
	s.markDirty()
	return s, nil
}

// validSessionName checks a name a user chose (SPEC §4: names refuse
// control characters): 1–32 bytes of valid UTF-8; no spaces of any kind
// or slashes; no control, bidi or invisible characters (tui.UnsafeRune,
// tui.InvisibleRune: C0, DEL, C1, every format character such as U+200B
// or U+202E, variation selectors, fillers), nor private-use or unassigned
// ones, so two names that look the same are the same (issue 9); and no
// leading "-", which would read as a flag on the command line. Errors wrap
// ErrBadName and name the character by code point.
func validSessionName(name string) error {
	if len(name) == 0 || len(name) > 32 || strings.ContainsAny(name, " \t\r\n/\\") {
		return fmt.Errorf("%w %q: 1-32 characters, no spaces or slashes", ErrBadName, name)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w %q: not valid UTF-8", ErrBadName, name)
	}
	for _, r := range name {
		switch {
		case tui.ControlRune(r):
			return fmt.Errorf("%w %q: no control characters (%U)", ErrBadName, name, r)
		case tui.InvisibleRune(r):
			return fmt.Errorf("%w %q: no invisible or format characters (%U)", ErrBadName, name, r)
		case unicode.IsSpace(r):
			return fmt.Errorf("%w %q: no spaces (%U)", ErrBadName, name, r)
		case !unicode.IsGraphic(r):
			return fmt.Errorf("%w %q: no private-use or unassigned characters (%U)", ErrBadName, name, r)
		}
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w %q: must not start with \"-\"", ErrBadName, name)
	}
	return nil
}

func nextName(existing []persist.Session) string {
	used := map[string]bool{}
	for _, r := range existing {
		used[r.Name] = true
	}
	for i := 1; ; i++ {
		if n := strconv.Itoa(i); !used[n] {
			return n
		}
	}
}

// wake returns the live session for rec, restoring it from its snapshot
// when it is hibernated (or owned by this node before a restart). note
// (nil: none) hears why a long wait for another node is long (acquire).
func (m *Manager) wake(ctx context.Context, id string, u User, remote string, note func(string)) (*Session, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, errors.New("server is shutting down")
		}
		if s, ok := m.live[id]; ok {
			m.mu.Unlock()
			return s, nil
		}
		if ch, ok := m.loading[id]; ok {
			m.mu.Unlock()
			<-ch
			continue
		}
		ch := make(chan struct{})
		m.loading[id] = ch
		m.mu.Unlock()
		s, err := m.load(ctx, id, u, remote, note)
		m.mu.Lock()
		delete(m.loading, id)
		if err == nil {
			m.gen++
			s.gen = m.gen
			m.live[id] = s
		}
		close(ch)
		m.mu.Unlock()
		return s, err
	}
}

func (m *Manager) load(ctx context.Context, id string, u User, remote string, note func(string)) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	rec, err := m.store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.State == persist.StateEnded {
		return nil, fmt.Errorf("session %s: %w", rec.Name, ErrNoSession)
	}
	l, err := m.acquire(ctx, id, u.Name, remote, note)
	if err != nil {
		return nil, err
	}
	// Read again under the lease: the last owner wrote its final state.
	if rec, err = m.store.GetSession(ctx, id); err != nil {
		m.release(ctx, persist.Session{ID: id, Epoch: l.Epoch}, "")
		return nil, err
	}
	if rec.State == persist.StateEnded {
		m.release(ctx, persist.Session{ID: id, Epoch: l.Epoch}, "")
		return nil, fmt.Errorf("session %s: %w", rec.Name, ErrNoSession)
	}
	rec.Epoch, rec.Node = l.Epoch, m.node
	s := &Session{m: m} // as in Create: the apps' commands wait for ready
	env := m.env(u, id, s.run)
	ws, err := m.loadWorkspace(ctx, rec, env)
	if err != nil {
		ws = tui.New(m.reg, env)
	}
	ws.SessionName = rec.Name
	rec.State = persist.StateDetached
	if rec.DetachedAt.IsZero() {
		rec.DetachedAt = m.clock.Now()
	}
	if err := m.store.UpdateSession(ctx, rec); err != nil {
		return nil, err
	}
	m.event(id, "woke", "system", "", "")
	s.rec, s.ws = rec, ws
	s.ready()
	return s, nil
}

// hibernate flushes s, disconnects its clients and drops it from memory.
// Results of commands in flight (a save's new version) are taken first, for
// at most tui.StoreTimeout, so the last snapshot agrees with the store.
func (m *Manager) hibernate(ctx context.Context, s *Session, reason string) {
	m.hibernateAs(ctx, s, reason, "shutdown", "")
}

// hibernateAs is hibernate with the clients' detach kind ("shutdown",
// "handoff") and, for a hand-off, the node to wake once the lease is free.
// The lease is released after the last write; a session whose lease was
// lost meanwhile writes nothing (its fenced writes fail).
func (m *Manager) hibernateAs(ctx context.Context, s *Session, reason, kind, to string) {
	s.mu.Lock()
	if s.gone || s.leaving { // a second hand-off request, or ended meanwhile
		s.mu.Unlock()
		return
	}
	s.leaving = true // no client joins while it leaves
	s.mu.Unlock()
	s.detachAll(reason, "system", kind)
	wctx, cancel := context.WithTimeout(ctx, tui.StoreTimeout)
	s.waitCommands(wctx)
	cancel()
	s.mu.Lock()
	s.dirty = true // the record's state must be written even if the workspace is unchanged
	s.gone = true
	s.rec.State = persist.StateHibernated
	if s.rec.DetachedAt.IsZero() {
		s.rec.DetachedAt = m.clock.Now()
	}
	s.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	err := s.flush(fctx)
	if err != nil {
		m.log.Error("hibernate: flush failed", "session", s.rec.ID, "err", err)
	}
	m.mu.Lock()
	if m.live[s.rec.ID] == s {
		delete(m.live, s.rec.ID)
	}
	m.mu.Unlock()
	rec := s.currentRecord()
	if kind == "handoff" {
		m.event(rec.ID, "handoff", "system", "", "to node "+to)
	} else {
		m.event(rec.ID, "hibernated", "system", "", reason)
	}
	if err == nil || !errors.Is(err, persist.ErrLeaseLost) {
		// After a failed flush the store keeps the previous generation; the
		// next owner loads that. Keeping the lease would only delay it.
		m.release(fctx, rec, to)
	}
}

// end finishes a session: its final workspace becomes the owner's last
// workspace, clients are told why, and it leaves memory.
//
// It does not wait for the session's commands (it may run inside one: an
// admin killing their own session); a result arriving later is dropped.
func (m *Manager) end(ctx context.Context, s *Session, reason, actor, remote string) {
	var clients []*Client
	var data []byte
	var err error
	var rec persist.Session
	if !func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gone {
			return false
		}
		s.gone = true
		clients = s.clients
		s.clients = nil
		data, err = s.snapshotLocked()
		s.rec.State = persist.StateEnded
		s.rec.EndReason = reason
		s.rec.EndedAt = m.clock.Now()
		s.rec.Apps = appsOf(s.ws)
		if s.flushing != nil {
			s.flushing.Stop()
			s.flushing = nil
		}
		rec = s.rec
		return true
	}() {
		return
	}
	msg := fmt.Sprintf("[session %s ended: %s]", rec.Name, reason)
	for _, c := range clients {
		c.farewell(msg)
	}
	logErr(m.log, "end: snapshot", err, "session", rec.ID)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, flushTimeout)
		logErr(m.log, "end: save last workspace", m.store.PutLastWorkspace(wctx, rec.Owner, persist.Seal(data)), "session", rec.ID)
		cancel()
	}
	s.record("ended", actor, remote, reason)
	m.mu.Lock()
	if m.live[rec.ID] == s {
		delete(m.live, rec.ID)
	}
	m.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	m.release(rctx, rec, "")
	cancel()
}

// endRecord ends a session. A live one here is ended in memory; one that
// no node runs is ended in the store under its lease, so that of several
// nodes sweeping at once exactly one ends it (SPEC §6). It returns
// persist.ErrLeaseHeld when another node runs the session.
func (m *Manager) endRecord(ctx context.Context, rec persist.Session, reason, actor string) error {
	if s := m.liveSession(rec.ID); s != nil {
		m.end(ctx, s, reason, actor, "")
		return nil
	}
	id := rec.ID
	l, err := m.store.AcquireLease(ctx, id, m.owner, m.policy.LeaseTTL)
	if err != nil {
		return err
	}
	cur, err := m.store.GetSession(ctx, id)
	if err != nil || cur.State == persist.StateEnded {
		m.release(ctx, persist.Session{ID: id, Epoch: l.Epoch}, "")
		return err // ended meanwhile by another node: nothing to do
	}
	// Its last readable snapshot becomes the owner's last workspace.
	if snaps, err := m.store.Snapshots(ctx, id); err == nil {
		for _, snap := range snaps {
			if _, err := persist.Open(snap.Data); err == nil {
				logErr(m.log, "end: save last workspace", m.store.PutLastWorkspace(ctx, cur.Owner, snap.Data), "session", id)
				break
			}
		}
	}
	cur.Epoch = l.Epoch
	cur.State, cur.EndReason, cur.EndedAt = persist.StateEnded, reason, m.clock.Now()
	cur.Attachments = nil
	if err := m.store.UpdateSession(ctx, cur); err != nil {
		return err
	}
	m.release(ctx, cur, "")
	m.event(id, "ended", actor, "", reason)
	return nil
}

func (m *Manager) liveSession(id string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live[id]
}

// saveRecord writes a session record, logging and returning a failure.
func (m *Manager) saveRecord(rec persist.Session) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := m.store.UpdateSession(ctx, rec)
	logErr(m.log, "save session record", err, "session", rec.ID)
	return err
}

// event appends to a session's history, logging failures.
func (m *Manager) event(id, kind, actor, remote, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := persist.Event{SessionID: id, At: m.clock.Now(), Kind: kind, Actor: actor, Remote: remote, Detail: strings.TrimSpace(detail)}
	logErr(m.log, "append session event", m.store.AppendEvent(ctx, e), "session", id)
	if kind != "message" {
		m.sessionsChanged(id)
	}
}

// sessionsChanged tells open Admin and Who tables that session id's
// record changed (issue 9), this node's (coalesced in the hub) and other
// nodes' (SPEC §6; listingsLoop). The record is written by now.
func (m *Manager) sessionsChanged(id string) {
	m.chat.publishTo("", tui.SessionsChanged{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.listingChanged(ctx, id)
}
