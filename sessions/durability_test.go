package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
)

// flakyStore is the real SQLite store whose next PutSnapshot calls fail
// with errs, in order, like a full disk that later has room again; it
// counts the calls tests watch (snapshot and record writes, listings).
type flakyStore struct {
	*sqlite.Store
	mu      sync.Mutex
	errs    []error
	puts    int // PutSnapshot calls, failed or not
	updates int // UpdateSession calls
	lists   int // ListSessions calls: each is one refresh of an open Admin table
}

func (f *flakyStore) PutSnapshot(ctx context.Context, id string, fence persist.Fence, data []byte) (int64, error) {
	f.mu.Lock()
	f.puts++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		f.mu.Unlock()
		return 0, err
	}
	f.mu.Unlock()
	return f.Store.PutSnapshot(ctx, id, fence, data)
}

func (f *flakyStore) UpdateSession(ctx context.Context, r persist.Session) error {
	f.count(&f.updates)
	return f.Store.UpdateSession(ctx, r)
}

func (f *flakyStore) ListSessions(ctx context.Context, flt persist.SessionFilter) ([]persist.Session, error) {
	f.count(&f.lists)
	return f.Store.ListSessions(ctx, flt)
}

func (f *flakyStore) count(n *int) {
	f.mu.Lock()
	*n++
	f.mu.Unlock()
}

// counted reads one of the counters.
func (f *flakyStore) counted(n *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *n
}

func (f *flakyStore) failNext(errs []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs, f.puts = errs, 0
}

func (f *flakyStore) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts
}

// A background snapshot that fails is retried with backoff (100 ms
// doubling to 5 s) while a warning stays in the status bar; once a write
// succeeds the warning goes and the store holds what was typed during the
// outage. A write that can never succeed (the session moved) is not
// retried.
func TestSnapshotRetry(t *testing.T) {
	ms := time.Millisecond
	full := errors.New("disk full")
	lost := fmt.Errorf("taken by another node: %w", persist.ErrLeaseLost)
	tests := []struct {
		name   string
		errs   []error         // the failures, in order
		delays []time.Duration // from each failed attempt to the next
		final  bool            // the last failure ends the retries: nothing is written
	}{
		{"one failure", []error{full}, []time.Duration{100 * ms}, false},
		{"three failures", []error{full, full, full}, []time.Duration{100 * ms, 200 * ms, 400 * ms}, false},
		{"backoff capped at 5s", []error{full, full, full, full, full, full, full, full},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms}, false},
		{"lease lost is final", []error{lost}, nil, true},
		{"lease lost during an outage ends it", []error{full, lost}, []time.Duration{100 * ms}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			st := &flakyStore{Store: e.store}
			m := e.managerOn(st)
			c := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
			c.waitFor(" alice · ")
			e.settle(m, "10.0.0.1:1001")
			e.clock.Advance(e.policy.FlushDelay) // the new session's first snapshot
			infos, _ := m.List(context.Background(), alice.Name, "")
			id := infos[0].ID
			if n := len(e.snapshots(id)); n != 1 {
				t.Fatalf("%d snapshots before the outage, want 1", n)
			}

			st.failNext(tt.errs)
			c.send("typed during outage")
			c.waitFor("typed during outage")
			e.clock.Advance(e.policy.FlushDelay)
			if got := st.calls(); got != 1 {
				t.Fatalf("%d writes after the debounce, want 1", got)
			}
			if len(tt.delays) == 0 {
				if e.clock.pending() != 0 || strings.Contains(c.scr.Text(), sessions.SaveWarning) {
					t.Fatalf("a lease-lost write was retried (%d timers) or warned:\n%s", e.clock.pending(), c.scr.Text())
				}
				return
			}
			c.waitFor(sessions.SaveWarning)
			c.send(", more")
			c.waitFor("typed during outage, more")
			if !strings.Contains(c.scr.Text(), sessions.SaveWarning) {
				t.Errorf("a key cleared the warning while saves still fail:\n%s", c.scr.Text())
			}
			for i, d := range tt.delays {
				e.clock.Advance(d - ms)
				if got := st.calls(); got != i+1 {
					t.Fatalf("retry %d came early: %d writes %s after the last failure", i+1, got, d-ms)
				}
				e.clock.Advance(ms)
				if got := st.calls(); got != i+2 {
					t.Fatalf("retry %d: %d writes %s after the last failure, want %d", i+1, got, d, i+2)
				}
			}
			if tt.final {
				if e.clock.pending() != 0 {
					t.Fatalf("after a lease-lost write: %d timers armed, want no retry", e.clock.pending())
				}
				c.scr.WaitUntil(t, "the warning to clear", wait, func(s string) bool { return !strings.Contains(s, sessions.SaveWarning) })
				return
			}
			c.scr.WaitUntil(t, "the warning to clear", wait, func(s string) bool { return !strings.Contains(s, sessions.SaveWarning) })
			payload, err := persist.Open(e.snapshots(id)[0].Data)
			if err != nil || !strings.Contains(string(payload), `"body":"typed during outage, more"`) {
				t.Errorf("newest snapshot = %s (%v), want the text typed during the outage", payload, err)
			}
			if e.clock.pending() != 0 {
				t.Errorf("%d timers still armed after a successful write", e.clock.pending())
			}
			if logs := e.logs.String(); !strings.Contains(logs, "snapshot writes failing; retrying") || !strings.Contains(logs, "snapshot writes succeed again") {
				t.Errorf("logs do not tell the outage and its end:\n%s", logs)
			}
		})
	}
}

// When snapshot generations cannot be read, the user is told on screen,
// the history says where they went, and they are set aside in the store's
// quarantine, where later saves never prune them.
func TestUnreadableSnapshotsKeptAside(t *testing.T) {
	tests := []struct {
		name    string
		corrupt string // SQL condition on gen, with the session's newest gen as ?2
		notice  string
		text    string // on screen after the wake
	}{
		{"every generation", "1", sessions.NoticeUnreadable, ""},
		{"the newest generation", "gen = ?2", sessions.NoticeOlder, "older"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			id := e.only(alice).ID
			c.send("older")
			c.waitFor("older")
			e.clock.Advance(e.policy.FlushDelay)
			c.send(" newer")
			c.waitFor("older newer")
			e.clock.Advance(e.policy.FlushDelay)
			c.send("\x02d")
			c.waitDone()
			e.mgr.Shutdown(context.Background(), "restart")
			snaps := e.snapshots(id)
			if _, err := e.store.DB().ExecContext(context.Background(),
				`UPDATE snapshots SET data = x'00' WHERE session_id = ?1 AND (`+tt.corrupt+`)`, id, snaps[0].Gen); err != nil {
				t.Fatal(err)
			}
			var bad []int64
			for _, s := range e.snapshots(id) {
				if _, err := persist.Open(s.Data); err != nil {
					bad = append(bad, s.Gen)
				}
			}

			m2 := e.newManager()
			c2 := e.serve(m2, alice, info("10.0.0.1:1001", 100, 24))
			c2.waitFor(tt.notice)
			c2.waitFor(tt.text)
			if strings.Contains(c2.scr.Text(), "newer") {
				t.Errorf("an unreadable generation was loaded:\n%s", c2.scr.Text())
			}
			_, events, err := m2.Show(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if last := lastOfKind(events, "restored"); !strings.Contains(last.Detail, "kept in quarantine") {
				t.Errorf("restored event = %+v, want it to say where the unreadable copies are", last)
			}

			// Many later saves: the store keeps 3 generations, the
			// quarantined ones stay.
			for i := range 6 {
				c2.send(fmt.Sprintf("%d", i))
				c2.waitFor(fmt.Sprintf("%d", i))
				e.clock.Advance(e.policy.FlushDelay)
			}
			q, err := e.store.Quarantined(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			var kept []int64
			for _, x := range q {
				kept = append(kept, x.Gen)
				if string(x.Data) != "\x00" || !strings.Contains(x.Reason, "corrupt snapshot") {
					t.Errorf("quarantined gen %d = %q, reason %q; want the corrupt bytes and why", x.Gen, x.Data, x.Reason)
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(bad) {
				t.Errorf("quarantined generations after later saves = %v, want %v", kept, bad)
			}
			for _, s := range e.snapshots(id) {
				if _, err := persist.Open(s.Data); err != nil {
					t.Errorf("an unreadable generation %d is still among the kept ones", s.Gen)
				}
			}
		})
	}
}

func lastOfKind(events []persist.Event, kind string) persist.Event {
	var out persist.Event
	for _, e := range events {
		if e.Kind == kind {
			out = e
		}
	}
	return out
}
