package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted: the smallest value that at least p % of the sample is ≤ to. It
// returns 0 for an empty sample. Nearest rank never interpolates, so a p99
// of 100 samples is the 99th smallest value, an observed latency.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summary describes a sample of latencies.
type Summary struct {
	N    int
	Min  time.Duration
	P50  time.Duration
	P90  time.Duration
	P99  time.Duration
	Max  time.Duration
	Mean time.Duration
}

// Summarize sorts a copy of ds and describes it.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{N: len(s), Min: s[0], P50: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99),
		Max: s[len(s)-1], Mean: sum / time.Duration(len(s))}
}

// String is "p50 1.23 ms / p99 4.56 ms (n=100)".
func (s Summary) String() string {
	if s.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s / p99 %s (n=%d)", Ms(s.P50), Ms(s.P99), s.N)
}

// MarshalJSON writes milliseconds, which is what people compare.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"n": s.N, "min_ms": ms(s.Min), "p50_ms": ms(s.P50), "p90_ms": ms(s.P90),
		"p99_ms": ms(s.P99), "max_ms": ms(s.Max), "mean_ms": ms(s.Mean)})
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Ms formats a duration in milliseconds with three significant decimals.
func Ms(d time.Duration) string {
	v := float64(d) / 1e6
	switch {
	case v < 10:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// Samples collects latencies from many goroutines.
type Samples struct {
	mu sync.Mutex
	ds []time.Duration
}

// Add records one latency.
func (s *Samples) Add(d time.Duration) {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
}

// Len is the number of latencies recorded.
func (s *Samples) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ds)
}

// Summary describes what was recorded so far.
func (s *Samples) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Summarize(s.ds)
}

// MedianInt returns the nearest-rank median of xs (0 when empty).
func MedianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)+1)/2-1]
}

// PerItem divides a byte delta over n items, never dividing by zero.
func PerItem(delta int64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(delta) / float64(n)
}
