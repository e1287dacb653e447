package admission

import (
	"sync"
	"time"
)

// ConnRate limits how fast one source address may open connections: a
// token bucket per source, Rate tokens a second up to Burst. A zero Rate
// admits everything.
type ConnRate struct {
	Rate  float64
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

// maxSources bounds the table so a flood of addresses cannot grow it forever.
const maxSources = 65536

type bucket struct {
	tokens float64
	last   time.Time
}

// NewConnRate returns a limiter of rate connections a second with burst.
func NewConnRate(rate, burst float64, now func() time.Time) *ConnRate {
	return &ConnRate{Rate: rate, Burst: max(burst, 1), Now: now, buckets: map[string]*bucket{}}
}

// Allow reports whether source may open one more connection now.
func (r *ConnRate) Allow(source string) bool {
	if r == nil || r.Rate <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.Now()
	b := r.buckets[source]
	if b == nil {
		if len(r.buckets) >= maxSources {
			r.prune(now)
		}
		b = &bucket{tokens: r.Burst, last: now}
		r.buckets[source] = b
	}
	b.tokens = min(r.Burst, b.tokens+now.Sub(b.last).Seconds()*r.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets full buckets (sources that have been quiet), or everything
// when that frees nothing, so the table stays bounded.
func (r *ConnRate) prune(now time.Time) {
	for k, b := range r.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*r.Rate >= r.Burst {
			delete(r.buckets, k)
		}
	}
	if len(r.buckets) >= maxSources {
		r.buckets = map[string]*bucket{}
	}
}
