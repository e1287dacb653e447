package auth

import (
	"sync"
	"time"
)

// Limiter slows down failed logins per source address: each failure doubles
// the delay before the next answer to that source, up to MaxDelay. A
// success, or Window without failures, forgets the source.
type Limiter struct {
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Window    time.Duration
	Now       func() time.Time

	mu      sync.Mutex
	sources map[string]*failures
}

type failures struct {
	count int
	last  time.Time
}

// maxSources bounds the table so a flood of addresses cannot grow it forever.
const maxSources = 65536

// NewLimiter returns a limiter with termhost's defaults.
func NewLimiter(now func() time.Time) *Limiter {
	return &Limiter{BaseDelay: 250 * time.Millisecond, MaxDelay: 8 * time.Second, Window: 10 * time.Minute, Now: now, sources: map[string]*failures{}}
}

// Delay is how long to wait before answering the next attempt from source.
func (l *Limiter) Delay(source string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.sources[source]
	if f == nil || f.count == 0 {
		return 0
	}
	if l.Now().Sub(f.last) > l.Window {
		delete(l.sources, source)
		return 0
	}
	d := l.BaseDelay << min(f.count-1, 16)
	return min(d, l.MaxDelay)
}

// Fail records a failed attempt from source.
func (l *Limiter) Fail(source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sources) >= maxSources {
		l.sources = map[string]*failures{}
	}
	f := l.sources[source]
	if f == nil {
		f = &failures{}
		l.sources[source] = f
	}
	f.count++
	f.last = l.Now()
}

// Succeed forgets the failures of source.
func (l *Limiter) Succeed(source string) {
	l.mu.Lock()
	delete(l.sources, source)
	l.mu.Unlock()
}
