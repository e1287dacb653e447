package abuse

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"termhost/bench"
)

// Errors a client returns while waiting for output.
var (
	ErrTimeout = errors.New("timed out")
	ErrClosed  = errors.New("connection closed")
)

// stream is what one client received: a byte count and the markers being
// awaited. Output is matched as it arrives and then dropped, so a client
// that is sent megabytes (a huge window) keeps no more than its matchers.
type stream struct {
	mu      sync.Mutex
	total   int64
	waiters []*Expect
	eof     bool
	done    chan struct{} // closed at EOF
}

func newStream() *stream { return &stream{done: make(chan struct{})} }

// Expect is one awaited marker: only bytes that arrive after it was made
// can complete it.
type Expect struct {
	marker string
	m      *bench.Matcher
	hit    chan time.Time // receives the arrival time once
}

func (s *stream) write(p []byte) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total += int64(len(p))
	keep := s.waiters[:0]
	for _, w := range s.waiters {
		if w.m.Feed(p) {
			w.hit <- now
			continue
		}
		keep = append(keep, w)
	}
	clear(s.waiters[len(keep):])
	s.waiters = keep
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.eof {
		s.eof = true
		close(s.done)
	}
}

// expect registers marker; "" is completed by the next byte.
func (s *stream) expect(marker string) *Expect {
	w := &Expect{marker: marker, m: bench.NewMatcher(marker), hit: make(chan time.Time, 1)}
	s.mu.Lock()
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	return w
}

// received is the number of bytes that arrived so far.
func (s *stream) received() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// wait returns when w's marker arrived, wrapping ErrClosed or ErrTimeout.
func (s *stream) wait(w *Expect, deadline time.Time) (time.Time, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case at := <-w.hit:
		return at, nil
	case <-s.done:
		select {
		case at := <-w.hit:
			return at, nil
		default:
			return time.Time{}, fmt.Errorf("waiting for %q: %w", w.marker, ErrClosed)
		}
	case <-timer.C:
		s.drop(w)
		return time.Time{}, fmt.Errorf("waiting for %q: %w", w.marker, ErrTimeout)
	}
}

// drop forgets a waiter that is no longer awaited.
func (s *stream) drop(w *Expect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}
