package sessions

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// Chat crosses nodes (SPEC §6) through the store: a post is stored, then
// every node is woken on persist.ChatChannel (LISTEN/NOTIFY in a cluster)
// and reads what is new with ChatSince. Notifications have no replay, so
// the relay also polls every relayPoll. The relay is the one path by which
// chat reaches this node's sessions, local posts included, so every node
// delivers in the order of the store's sequence.
//
// A sequence number is drawn when a row is inserted but becomes visible
// at commit, so a line can appear below the newest one already delivered
// (two posters at once on PostgreSQL). Each read therefore starts
// relayLookback lines back and skips what was delivered.

// relayPoll bounds how late a line whose wake-up was lost arrives.
const relayPoll = time.Second

// relayLookback is how many lines before the newest delivered one each
// read looks at again; relayBatch bounds one read.
const (
	relayLookback = 64
	relayBatch    = 500
)

// chatRelay remembers what this node delivered.
type chatRelay struct {
	mu        sync.Mutex // guards the fields below; taken alone
	after     int64      // the newest delivered Seq
	delivered map[int64]bool
	down      atomic.Bool // reads failing (logged once)
}

// start sets the relay after the newest stored line: a node delivers only
// what is posted after it started (the apps load history themselves).
func (r *chatRelay) start(ctx context.Context, m *Manager) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range 10_000 { // pages of relayBatch: bounded for any history
		msgs, err := m.store.ChatSince(ctx, r.after, relayBatch)
		if err != nil {
			return err
		}
		for _, msg := range msgs {
			r.after = max(r.after, msg.Seq)
			r.delivered[msg.Seq] = true // history, not news
		}
		if len(msgs) < relayBatch {
			break
		}
	}
	for seq := range r.delivered {
		if seq <= r.after-relayLookback {
			delete(r.delivered, seq)
		}
	}
	return nil
}

// relayLoop delivers new chat lines on every wake-up and every relayPoll.
func (m *Manager) relayLoop(wakeups <-chan string) {
	defer m.wg.Done()
	t := time.NewTicker(relayPoll)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case _, ok := <-wakeups:
			if !ok {
				wakeups = nil
				continue
			}
		case <-t.C:
		}
		m.relayOnce(m.loopCtx)
	}
}

// relayOnce reads the lines after the last delivered one (with the
// lookback) and publishes those not delivered yet, in sequence order.
func (m *Manager) relayOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r := &m.relay
	for range 100 { // a burst larger than 100 batches waits for the next poll
		r.mu.Lock()
		from := max(r.after-relayLookback, 0)
		r.mu.Unlock()
		msgs, err := m.store.ChatSince(ctx, from, relayBatch)
		if err != nil {
			if !r.down.Swap(true) { // once per outage, as the lease renewer does
				m.log.Warn("chat relay: store unreachable; lines from other nodes wait", "err", err)
			}
			return
		}
		if r.down.Swap(false) {
			m.log.Info("chat relay: store reachable again")
		}
		var fresh []persist.ChatMessage
		r.mu.Lock()
		for _, msg := range msgs {
			if msg.Seq <= from || r.delivered[msg.Seq] {
				continue
			}
			r.delivered[msg.Seq] = true
			r.after = max(r.after, msg.Seq)
			fresh = append(fresh, msg)
		}
		for seq := range r.delivered {
			if seq <= r.after-relayLookback {
				delete(r.delivered, seq)
			}
		}
		r.mu.Unlock()
		for _, msg := range fresh {
			m.chat.publish(tui.ChatMsg{Seq: msg.Seq, Room: msg.Room, User: msg.User, Text: msg.Text, At: msg.At})
		}
		if len(msgs) < relayBatch {
			return
		}
	}
}

// chatPosted wakes every node's relay (this one's too) for a stored line.
func (m *Manager) chatPosted(ctx context.Context, seq int64) {
	logErr(m.log, "notify chat", m.store.Notify(ctx, persist.ChatChannel, strconv.FormatInt(seq, 10)))
}
