package web

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/memory"
	"termhost/seal"
	"termhost/sessions"
)

// fakeClock is an injected clock for Tickets.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func internalRing(t testing.TB) *seal.Ring {
	t.Helper()
	k, err := seal.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, err := seal.NewRing([]seal.Key{k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// withPage registers a page on session id without a socket: what attach
// does before its writer starts.
func withPage(tk *Tickets, id string) *ticketSink {
	k := &ticketSink{wake: make(chan struct{}, 1)}
	tk.mu.Lock()
	tk.pages[id] = map[*ticketSink]struct{}{k: {}}
	tk.meta[id] = ticketMeta{account: 1, created: 1}
	tk.mu.Unlock()
	return k
}

func (k *ticketSink) take() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.frame
	k.frame = nil
	return f
}

func noise(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestTicketTooLargeCostsNoCompression (issue 12 finding 4): a workspace
// that did not fit in a ticket is not compressed again at every snapshot:
// not while it is at least the size that failed, and not more than once
// per sealRetryEvery; a raw payload over seal.MaxPayload is never
// compressed. Ring.Seal calls are counted (attempts).
func TestTicketTooLargeCostsNoCompression(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tk := NewTickets(TicketsConfig{Ring: internalRing(t), Store: memory.New(nil), Now: clk.Now})
	k := withPage(tk, "s1")
	huge := withPage(tk, "s2")
	tests := []struct {
		name         string
		session      string
		size         int // bytes of incompressible workspace
		advance      time.Duration
		repeat       int
		wantAttempts int64 // total so far
		wantTicket   bool
	}{
		{name: "too large: one attempt", session: "s1", size: 200 << 10, repeat: 1, wantAttempts: 1},
		{name: "same size again: skipped", session: "s1", size: 200 << 10, repeat: 50, wantAttempts: 1},
		{name: "larger, later: skipped", session: "s1", size: 300 << 10, advance: time.Minute, repeat: 5, wantAttempts: 1},
		{name: "smaller, later: tried once", session: "s1", size: 150 << 10, repeat: 5, wantAttempts: 2},
		{name: "fits, too soon: skipped", session: "s1", size: 1 << 10, advance: time.Second, repeat: 5, wantAttempts: 2},
		{name: "fits, after the pause: sealed", session: "s1", size: 1 << 10, advance: sealRetryEvery, repeat: 1, wantAttempts: 3, wantTicket: true},
		{name: "fits again: sealed every time", session: "s1", size: 2 << 10, repeat: 3, wantAttempts: 6, wantTicket: true},
		{name: "over MaxPayload raw: never compressed", session: "s2", size: seal.MaxPayload + 1, repeat: 3, wantAttempts: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			data := noise(tt.size)
			for i := range tt.repeat {
				tk.Snapshot(sessions.Saved{SessionID: tt.session, Owner: "alice", Name: "w", Gen: int64(i + 1), Data: data})
			}
			if got := tk.attempts.Load(); got != tt.wantAttempts {
				t.Errorf("Ring.Seal called %d times in all, want %d", got, tt.wantAttempts)
			}
			if got := k.take() != nil || huge.take() != nil; got != tt.wantTicket {
				t.Errorf("ticket sent %v, want %v", got, tt.wantTicket)
			}
		})
	}
}

// BenchmarkSnapshotTooLarge: the cost of a snapshot of a workspace that
// does not fit, first attempt vs. every later one (issue 12: was ~73 ms
// of CPU each time).
func BenchmarkSnapshotTooLarge(b *testing.B) {
	data := noise(512 << 10)
	for _, bb := range []struct {
		name            string
		rememberFailure bool
	}{{name: "first attempt"}, {name: "after a failure", rememberFailure: true}} {
		b.Run(bb.name, func(b *testing.B) {
			tk := NewTickets(TicketsConfig{Ring: internalRing(b), Store: memory.New(nil), Log: slog.New(slog.DiscardHandler)})
			withPage(tk, "s1")
			sv := sessions.Saved{SessionID: "s1", Owner: "alice", Name: "w", Gen: 1, Data: data}
			if bb.rememberFailure {
				tk.Snapshot(sv)
			}
			b.ReportAllocs()
			for b.Loop() {
				if !bb.rememberFailure {
					tk.mu.Lock()
					delete(tk.tooLarge, "s1")
					tk.mu.Unlock()
				}
				tk.Snapshot(sv)
			}
		})
	}
}

// TestTicketRestoreOverCap (issue 12 finding 7): a restore over
// max_sessions_per_user says so in a sentence, not an internal error, and
// is not a refusal (the page keeps its ticket for after it ends one).
func TestTicketRestoreOverCap(t *testing.T) {
	ctx := t.Context()
	st := memory.New(nil)
	created := time.Unix(1_700_000_000, 0)
	if err := st.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, persist.Session{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Owner: "alice", Name: "one",
		State: persist.StateHibernated, CreatedAt: created}, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		max     int
		want    error
		wantMsg string
	}{
		{name: "at the cap", max: 1, want: ErrTicketLimit, wantMsg: "you have the most sessions allowed (1); end one and reload"},
		{name: "under the cap", max: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := NewTickets(TicketsConfig{Ring: internalRing(t), Store: st, MaxPerUser: tt.max})
			id := "bbbbbbbbbbbbbbbbbbbbbbbbb" + string(rune('a'+tt.max))
			text, err := tk.seal(sessions.Saved{SessionID: id, Owner: "alice", Name: "two", Gen: 3, Data: []byte("{}")},
				ticketMeta{account: created.UnixMilli(), created: created.UnixMilli()})
			if err != nil {
				t.Fatal(err)
			}
			restored, err := tk.Offer(ctx, "alice", id, text)
			if !errors.Is(err, tt.want) || (tt.want == nil) != restored {
				t.Fatalf("Offer: restored %v, %v; want %v", restored, err, tt.want)
			}
			if tt.want == nil {
				return
			}
			if err.Error() != tt.wantMsg || strings.Contains(err.Error(), "limit reached") {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
			if refusalText(err) != "" {
				t.Errorf("the cap is told as a refusal: the page would drop its ticket")
			}
		})
	}
}
