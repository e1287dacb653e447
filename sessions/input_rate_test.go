package sessions

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 8 (attack trial): input had no rate per connection. The budget is
// a byte bucket: InputBurst at once, then InputRate a second.
func TestInputBudget(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	type read struct {
		at   time.Duration // after t0
		n    int
		wait time.Duration
	}
	tests := []struct {
		name  string
		reads []read
	}{
		{"typing never waits", []read{{0, 3, 0}, {10 * time.Millisecond, 1, 0}, {time.Hour, 6, 0}}},
		{"a burst lands at once", []read{{0, InputBurst, 0}}},
		{"past the burst the rate", []read{{0, InputBurst, 0}, {0, InputRate, time.Second}}},
		{"time refills", []read{{0, InputBurst, 0}, {time.Second / 2, InputRate / 2, 0}, {time.Second / 2, InputRate / 4, time.Second / 4}}},
		{"never above the burst", []read{{0, 1, 0}, {time.Hour, InputBurst + InputRate, time.Second}}},
		{"a clock that steps back adds nothing", []read{{time.Second, InputBurst, 0}, {0, InputRate, time.Second}}},
		{"a 1 MiB paste takes seconds", []read{{0, 1 << 20, time.Duration(float64((1<<20)-InputBurst) / InputRate * float64(time.Second))}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b inputBudget
			for i, r := range tc.reads {
				if got := b.take(r.n, t0.Add(r.at)); got != r.wait {
					t.Errorf("read %d (%d bytes at +%v): wait %v, want %v", i, r.n, r.at, got, r.wait)
				}
			}
		})
	}
}

// stepClock fires AfterFunc timers only when the test says so.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []func()
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) AfterFunc(_ time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, f)
	return propTimer{}
}

// advance moves time and fires every armed timer.
func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	fs := c.timers
	c.timers = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

func (c *stepClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// countingReader counts what the key reader took from the connection.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// The key reader stops reading past the budget until the clock allows
// more: the sender is held back, and every byte still arrives.
func TestKeyReaderPacesInput(t *testing.T) {
	clock := &stepClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	pr, pw := io.Pipe()
	src := &countingReader{r: pr}
	k := newKeyReader(src, clock)
	defer k.close()
	const total = InputBurst + InputRate // a second past the burst
	go func() {
		buf := make([]byte, total)
		for i := range buf {
			buf[i] = 'a' + byte(i%26)
		}
		pw.Write(buf)
		pw.Close()
	}()
	keys := make(chan int, 64)
	go func() {
		defer close(keys)
		for {
			events, _, err := k.next()
			keys <- len(events)
			if err != nil {
				return
			}
		}
	}()
	got, waits := 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for got < total && time.Now().Before(deadline) {
		if clock.armed() > 0 {
			// The reader waits for the clock: it has read what the budget
			// allows so far and at most one buffer more, no further.
			allowed := int64(InputBurst + waits*InputRate/4 + len(k.buf))
			if n := src.n.Load(); n > allowed {
				t.Fatalf("read %d bytes after %d ms, want at most %d", n, waits*250, allowed)
			}
			waits++
			clock.advance(time.Second / 4)
			continue
		}
		select {
		case n, ok := <-keys:
			if !ok {
				t.Fatalf("the reader stopped after %d keys", got)
			}
			got += n
		case <-time.After(time.Millisecond):
		}
	}
	if got != total {
		t.Fatalf("%d keys arrived, want %d", got, total)
	}
	if waits < 4 {
		t.Errorf("the reader waited %d times for a quarter second, want 4 (a second's worth past the burst)", waits)
	}
}

// All connections together read at most NodeInputRate: 20 connections
// pasting at once are held to it, while a typist on the same node never
// waits for them.
func TestNodeInputBudget(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		pasters int
	}{
		{"one paster alone", 1},
		{"20 pasters", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var node nodeInput
			pasters := make([]*inputBudget, tc.pasters)
			free := make([]time.Time, tc.pasters) // when each may read again
			for i := range pasters {
				pasters[i] = &inputBudget{node: &node}
				free[i] = t0
			}
			typist := &inputBudget{node: &node}
			const window = 10 * time.Second
			read := 0
			for at := time.Duration(0); at < window; at += time.Millisecond {
				now := t0.Add(at)
				for i, b := range pasters {
					if !now.Before(free[i]) {
						free[i] = now.Add(b.take(4096, now))
						read += 4096
					}
				}
				if at%(100*time.Millisecond) == 0 {
					if d := typist.take(3, now); d != 0 {
						t.Fatalf("the typist's key at +%v waits %v", at, d)
					}
				}
			}
			perConn := InputBurst + InputRate*int(window/time.Second) + 4096
			limit := min(tc.pasters*perConn, NodeInputBurst+NodeInputRate*int(window/time.Second)+tc.pasters*4096)
			if read > limit {
				t.Errorf("%d pasters read %d bytes in %s, want at most %d", tc.pasters, read, window, limit)
			}
			if read < limit*8/10 {
				t.Errorf("%d pasters read only %d bytes in %s, want about %d", tc.pasters, read, window, limit)
			}
		})
	}
}
