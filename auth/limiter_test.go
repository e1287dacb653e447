package auth_test

import (
	"fmt"
	"testing"
	"time"

	"termhost/auth"
)

// fakeNow is a clock for the limiter.
type fakeNow struct{ t time.Time }

func (c *fakeNow) now() time.Time          { return c.t }
func (c *fakeNow) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterDelays(t *testing.T) {
	tests := []struct {
		name  string
		fails int
		want  time.Duration
	}{
		{name: "no failures", fails: 0, want: 0},
		{name: "one", fails: 1, want: 250 * time.Millisecond},
		{name: "two doubles", fails: 2, want: 500 * time.Millisecond},
		{name: "three", fails: 3, want: time.Second},
		{name: "six reaches the cap", fails: 6, want: 8 * time.Second},
		{name: "seven stays at the cap", fails: 7, want: 8 * time.Second},
		{name: "a hundred does not overflow", fails: 100, want: 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
			l := auth.NewLimiter(clk.now)
			for range tt.fails {
				l.Fail("192.0.2.1", "alice")
				clk.advance(time.Second)
			}
			if got := l.Delay("192.0.2.1"); got != tt.want {
				t.Errorf("Delay after %d failures = %v, want %v", tt.fails, got, tt.want)
			}
			if got := l.Delay("192.0.2.2"); got != 0 {
				t.Errorf("another source is delayed %v, want 0", got)
			}
		})
	}
}

func TestLimiterForgets(t *testing.T) {
	tests := []struct {
		name   string
		after  func(l *auth.Limiter, clk *fakeNow)
		want   time.Duration
		refail time.Duration // delay after one more failure
	}{
		{name: "success on the failed peer resets", after: func(l *auth.Limiter, _ *fakeNow) { l.Succeed("src", "alice") }, want: 0, refail: 250 * time.Millisecond},
		// Before: any success cleared the source, so a signup between
		// guesses kept a sprayer at the first delay (issue 8).
		{name: "success on another peer keeps the failures", after: func(l *auth.Limiter, _ *fakeNow) { l.Succeed("src", "fresh") }, want: time.Second, refail: 2 * time.Second},
		{name: "success clears only its own peer's share", after: func(l *auth.Limiter, _ *fakeNow) { l.Fail("src", "bob"); l.Succeed("src", "alice") }, want: 250 * time.Millisecond, refail: 500 * time.Millisecond},
		{name: "still inside the window", after: func(_ *auth.Limiter, c *fakeNow) { c.advance(10 * time.Minute) }, want: time.Second, refail: 2 * time.Second},
		{name: "window passed", after: func(_ *auth.Limiter, c *fakeNow) { c.advance(10*time.Minute + time.Nanosecond) }, want: 0, refail: 250 * time.Millisecond},
		{name: "another source's success", after: func(l *auth.Limiter, _ *fakeNow) { l.Succeed("other", "alice") }, want: time.Second, refail: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
			l := auth.NewLimiter(clk.now)
			for range 3 {
				l.Fail("src", "alice")
			}
			tt.after(l, clk)
			if got := l.Delay("src"); got != tt.want {
				t.Errorf("Delay = %v, want %v", got, tt.want)
			}
			l.Fail("src", "alice")
			if got := l.Delay("src"); got != tt.refail {
				t.Errorf("Delay after one more failure = %v, want %v", got, tt.refail)
			}
		})
	}
}

// FailedOn names the peers that failed under a key, within the window.
func TestLimiterFailedOn(t *testing.T) {
	tests := []struct {
		name  string
		after func(l *auth.Limiter, clk *fakeNow)
		peer  string
		want  bool
	}{
		{name: "the peer that failed", peer: "198.51.100.1", want: true},
		{name: "a peer that did not", peer: "198.51.100.2", want: false},
		{name: "after its success", after: func(l *auth.Limiter, _ *fakeNow) { l.Succeed("alice", "198.51.100.1") }, peer: "198.51.100.1", want: false},
		{name: "after the window", after: func(_ *auth.Limiter, c *fakeNow) { c.advance(11 * time.Minute) }, peer: "198.51.100.1", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
			l := auth.NewLimiter(clk.now)
			l.Fail("alice", "198.51.100.1")
			if tt.after != nil {
				tt.after(l, clk)
			}
			if got := l.FailedOn("alice", tt.peer); got != tt.want {
				t.Errorf("FailedOn(alice, %s) = %v, want %v", tt.peer, got, tt.want)
			}
		})
	}
}

// A full table drops the keys that aged out before anything else: a new
// failure must not wipe the delays still running. Before, a full table
// always started again empty.
func TestLimiterFullTableKeepsLiveDelays(t *testing.T) {
	tests := []struct {
		name  string
		n     int // failures that leave the table one short of full
		flood func(l *auth.Limiter, i int)
	}{
		{name: "many sources", n: 1023, flood: func(l *auth.Limiter, i int) { l.Fail(fmt.Sprintf("10.%d.%d.1", i>>8, i&255), "x") }},
		{name: "64 names from each source", n: 4095, flood: func(l *auth.Limiter, i int) {
			l.Fail(fmt.Sprintf("10.0.%d.%d", i/64>>8, i/64&255), fmt.Sprintf("n%d", i%64))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer auth.SetLimiterBounds(1024, 4096)()
			clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
			l := auth.NewLimiter(clk.now)
			for i := range tt.n {
				tt.flood(l, i)
			}
			clk.advance(5 * time.Minute)
			for range 3 {
				l.Fail("192.0.2.1", "alice")
			}
			clk.advance(6 * time.Minute) // the flood aged out; alice's failures did not
			l.Fail("198.51.100.1", "x")
			if got, want := l.Delay("192.0.2.1"), time.Second; got != want {
				t.Errorf("Delay of the live source = %v, want %v", got, want)
			}
		})
	}
}
