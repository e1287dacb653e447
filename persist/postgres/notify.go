package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// listenBuffer is how many undelivered payloads a listener holds before
// further ones are dropped (wake-ups, not data: the reader polls anyway).
const listenBuffer = 64

// maxPayload and maxChannel are the contract's limits (persist.Notifier):
// a payload of at most 1,000 bytes, a channel name of PostgreSQL
// identifier length.
const (
	maxPayload = 1000
	maxChannel = 63
)

// listenReady bounds how long Listen waits for its LISTEN to be in force
// (the database may be down: then the channel is served once it is back).
const listenReady = 5 * time.Second

// Reconnect backoff of the listener connection.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

// A listener that hears nothing for listenIdle pings its connection (each
// attempt, and each connect, bounded by listenProbe): a connection that
// died without a FIN or RST (a partition, a paused server) would
// otherwise wait for notifications forever.
// (Variables so that a test can shorten them.)
var (
	listenIdle  = 15 * time.Second
	listenProbe = 5 * time.Second
)

// ErrBadChannel is returned by Notify and Listen for a channel name that is
// empty, over 63 bytes, or holds anything but printable ASCII without '"'
// (node ids in NodeChannel carry '-' from host names), or a payload over
// 1,000 bytes: the same rule as persist/sqlite. The name is quoted as an
// identifier in LISTEN, so it reaches PostgreSQL unchanged (no case folding).
var ErrBadChannel = errors.New("bad notifier channel or payload")

func checkChannel(channel string) error {
	if channel == "" || len(channel) > maxChannel {
		return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
	}
	for _, c := range []byte(channel) {
		if c < 0x21 || c > 0x7e || c == '"' {
			return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
		}
	}
	return nil
}

// Notify implements persist.Notifier with pg_notify, which every session
// LISTENing on channel receives when this statement commits. ErrBadChannel.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("payload of %d bytes on %s: %w", len(payload), channel, ErrBadChannel)
	}
	_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return wrap(err, "notify %s", channel)
}

// Listen implements persist.Notifier. Every Listen of a Store shares one
// dedicated connection (not from the pool), which LISTENs to the union of
// the channels asked for and reconnects with backoff when it drops;
// wake-ups sent while it is down are lost (callers poll). Listen returns
// once the LISTEN is in force, or after 5 s if the database is away. The
// channel is closed when ctx ends or the Store is closed. ErrBadChannel.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	return s.hub.subscribe(ctx, channel)
}

// hub owns the listener connection and fans its notifications out.
// Lock order: hub.mu only; no database call is made under it.
type hub struct {
	cfg *pgx.ConnConfig

	startOnce sync.Once
	ctx       context.Context // ends with the Store
	cancel    context.CancelFunc
	done      chan struct{} // closed when run returns
	changed   chan struct{} // (1) the set of channels changed: re-sync LISTENs

	mu     sync.Mutex
	topics map[string]*topic // guarded by mu
	closed bool              // guarded by mu: no new subscriptions
}

// topic is one channel's listeners and whether its LISTEN is in force on
// the current connection.
type topic struct {
	subs  map[chan string]struct{}
	live  bool
	ready chan struct{} // closed when live becomes true
}

func newHub(cfg *pgx.ConnConfig) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{cfg: cfg.Copy(), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		changed: make(chan struct{}, 1), topics: map[string]*topic{}}
}

func (h *hub) subscribe(ctx context.Context, channel string) (<-chan string, error) {
	ch := make(chan string, listenBuffer)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("listen %s: store closed", channel)
	}
	t := h.topics[channel]
	if t == nil {
		t = &topic{subs: map[chan string]struct{}{}, ready: make(chan struct{})}
		h.topics[channel] = t
	}
	t.subs[ch] = struct{}{}
	ready := t.ready
	h.mu.Unlock()
	h.startOnce.Do(func() { go h.run() })
	h.poke()

	go func() {
		select {
		case <-ctx.Done():
		case <-h.ctx.Done():
		}
		h.mu.Lock()
		if t := h.topics[channel]; t != nil {
			delete(t.subs, ch)
			if len(t.subs) == 0 {
				delete(h.topics, channel)
			}
		}
		close(ch) // under mu: deliver never sends on a closed channel
		h.mu.Unlock()
		h.poke()
	}()

	timer := time.NewTimer(listenReady)
	defer timer.Stop()
	select {
	case <-ready:
	case <-timer.C:
	case <-ctx.Done():
	case <-h.ctx.Done():
	}
	return ch, nil
}

// poke tells run that the set of channels changed.
func (h *hub) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// close ends run and every subscription; idempotent.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	started := true
	h.startOnce.Do(func() { started = false })
	if started {
		<-h.done
	}
}

// run keeps a listener connection up until the Store closes.
func (h *hub) run() {
	defer close(h.done)
	backoff := backoffMin
	for h.ctx.Err() == nil {
		connectCtx, cancel := context.WithTimeout(h.ctx, listenProbe)
		conn, err := pgx.ConnectConfig(connectCtx, h.cfg)
		cancel()
		if err == nil {
			backoff = backoffMin
			h.serve(conn)
			h.lost()
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
			continue
		}
		select {
		case <-h.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// lost marks every topic as not listened to after the connection dropped.
func (h *hub) lost() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		if t.live {
			t.live = false
			t.ready = make(chan struct{})
		}
	}
}

// serve LISTENs on conn to the channels wanted, delivers notifications, and
// returns when the connection fails or the Store closes.
func (h *hub) serve(conn *pgx.Conn) {
	listening := map[string]bool{}
	for {
		if err := h.sync(conn, listening); err != nil {
			return
		}
		waitCtx, cancel := context.WithTimeout(h.ctx, listenIdle)
		stop := make(chan struct{})
		go func() {
			select {
			case <-h.changed:
				cancel()
			case <-stop:
			}
		}()
		n, err := conn.WaitForNotification(waitCtx)
		close(stop)
		idle := errors.Is(waitCtx.Err(), context.DeadlineExceeded)
		interrupted := waitCtx.Err() != nil
		cancel()
		if err != nil {
			// A wait cut short (a subscription change, or idle) leaves
			// the connection usable (pgx's deadline handler); anything
			// else is a lost connection.
			if !interrupted || h.ctx.Err() != nil || conn.IsClosed() {
				return
			}
			if idle && !h.alive(conn) {
				return
			}
			continue
		}
		h.deliver(n.Channel, n.Payload)
	}
}

// alive pings conn within listenProbe.
func (h *hub) alive(conn *pgx.Conn) bool {
	ctx, cancel := context.WithTimeout(h.ctx, listenProbe)
	defer cancel()
	return conn.Ping(ctx) == nil
}

// sync issues LISTEN and UNLISTEN so conn listens to exactly the wanted
// channels, and marks the new ones live.
func (h *hub) sync(conn *pgx.Conn, listening map[string]bool) error {
	h.mu.Lock()
	want := make(map[string]bool, len(h.topics))
	for name := range h.topics {
		want[name] = true
	}
	h.mu.Unlock()
	for name := range listening {
		if !want[name] {
			if _, err := conn.Exec(h.ctx, "UNLISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
				return err
			}
			delete(listening, name)
		}
	}
	for name := range want {
		if listening[name] {
			continue
		}
		if _, err := conn.Exec(h.ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
		listening[name] = true
	}
	h.mu.Lock()
	for name, t := range h.topics {
		if listening[name] && !t.live {
			t.live = true
			close(t.ready)
		}
	}
	h.mu.Unlock()
	return nil
}

// deliver hands payload to every listener of channel; a full buffer drops it.
func (h *hub) deliver(channel, payload string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[channel]
	if t == nil {
		return
	}
	for ch := range t.subs {
		select {
		case ch <- payload:
		default:
		}
	}
}
