package bench

import (
	"context"
	"fmt"
	"time"
)

// MemSample is a server's memory at one moment.
type MemSample struct {
	Mem Mem
	// GC is the last gctrace line after the nudge: its LiveMB is the Go
	// heap marked live by a cycle that started after the state was reached.
	GC GCStat
	// Nudged says whether the nudge saw two fresh GC cycles in time.
	Nudged bool
}

// Prober keeps one attached session on a server whose only job is to make
// the server allocate, so that the Go runtime runs a GC cycle and prints
// the live heap: the server has no way to be asked for its heap (see
// BENCHMARKS.md: the proposed admin `stats` verb).
type Prober struct {
	term  *Term
	trace *GCTrace
	pid   int
}

// NewProber connects a probe user.
func NewProber(ctx context.Context, t Target, user string, trace *GCTrace, pid int) (*Prober, error) {
	terms, res := Connect(ctx, t, []string{user}, 1, Keep)
	if res.OK != 1 {
		return nil, fmt.Errorf("probe session: %s", res.FirstError)
	}
	return &Prober{term: terms[0], trace: trace, pid: pid}, nil
}

// Close drops the probe connection.
func (p *Prober) Close() { p.term.Close() }

// Sample waits settle, nudges two GC cycles (bounded by 20 s) by toggling
// the help overlay, waits settle again and reads the memory.
func (p *Prober) Sample(settle time.Duration) (MemSample, error) {
	time.Sleep(settle)
	var s MemSample
	if p.trace != nil {
		start := p.trace.Last().Num
		deadline := time.Now().Add(20 * time.Second)
		for p.trace.Last().Num < start+2 && time.Now().Before(deadline) {
			// ctrl+b ? opens the help overlay, any key closes it: each is a
			// full-screen render, which allocates, and leaves no state.
			if _, err := p.term.Key([]byte{0x02, '?'}, 0, time.Now().Add(5*time.Second)); err != nil {
				return s, fmt.Errorf("probe: %w", err)
			}
			if _, err := p.term.Key([]byte{'q'}, 0, time.Now().Add(5*time.Second)); err != nil {
				return s, fmt.Errorf("probe: %w", err)
			}
		}
		s.GC = p.trace.Last()
		s.Nudged = s.GC.Num >= start+2
		time.Sleep(settle)
	}
	m, err := ReadMem(p.pid)
	s.Mem = m
	return s, err
}

// MemDelta is the memory added by Count sessions in one state.
type MemDelta struct {
	State    string `json:"state"`
	Count    int    `json:"count"`
	Before   Mem    `json:"before"`
	After    Mem    `json:"after"`
	LiveMB   [2]int `json:"heap_live_mb"` // before, after (gctrace)
	Nudged   bool   `json:"gc_observed"`
	PSSPer   int64  `json:"pss_bytes_per_session"`
	RSSPer   int64  `json:"rss_bytes_per_session"`
	HeapPer  int64  `json:"heap_bytes_per_session"`
	Note     string `json:"note,omitempty"`
	Sessions int    `json:"sessions_in_state"` // as `sessions list` counted them
}

// NewMemDelta divides the difference over count sessions.
func NewMemDelta(state string, count int, before, after MemSample) MemDelta {
	d := MemDelta{State: state, Count: count, Before: before.Mem, After: after.Mem,
		LiveMB: [2]int{before.GC.LiveMB, after.GC.LiveMB}, Nudged: before.Nudged && after.Nudged}
	if count > 0 {
		diff := after.Mem.Sub(before.Mem)
		d.PSSPer, d.RSSPer = diff.PSS/int64(count), diff.RSS/int64(count)
		d.HeapPer = int64(after.GC.LiveMB-before.GC.LiveMB) << 20 / int64(count)
	}
	return d
}
