package bench

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func durs(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", durs(7), 99, 7 * time.Millisecond},
		{"median of odd count", durs(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even count is the lower middle", durs(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", durs(4, 5, 6), 0.001, 4 * time.Millisecond},
		{"p0 clamps to the min", durs(4, 5, 6), 0, 4 * time.Millisecond},
		{"p above 100 clamps to the max", durs(4, 5, 6), 150, 6 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"unsorted input", durs(5, 1, 3), Summary{N: 3, Min: ms1(1), P50: ms1(3), P90: ms1(5), P99: ms1(5), Max: ms1(5), Mean: ms1(3)}},
		{"outlier moves p99 and mean only", durs(1, 1, 1, 1, 1, 1, 1, 1, 1, 91),
			Summary{N: 10, Min: ms1(1), P50: ms1(1), P90: ms1(1), P99: ms1(91), Max: ms1(91), Mean: ms1(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.in); got != tt.want {
				t.Fatalf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func ms1(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := durs(3, 1, 2)
	Summarize(in)
	if in[0] != ms1(3) || in[1] != ms1(1) || in[2] != ms1(2) {
		t.Fatalf("input reordered: %v", in)
	}
}

func TestSummaryJSONIsMilliseconds(t *testing.T) {
	b, err := json.Marshal(Summarize([]time.Duration{1500 * time.Microsecond}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["p50_ms"] != 1.5 || m["n"] != 1 {
		t.Fatalf("json = %s", b)
	}
}

func TestSamplesConcurrent(t *testing.T) {
	var s Samples
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				s.Add(time.Duration(i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if s.Len() != 800 || s.Summary().N != 800 {
		t.Fatalf("len %d, summary n %d; want 800", s.Len(), s.Summary().N)
	}
}

func TestMedianInt(t *testing.T) {
	tests := []struct {
		name string
		in   []int
		want int
	}{
		{"empty", nil, 0},
		{"odd", []int{9, 1, 5}, 5},
		{"even takes the lower middle", []int{4, 1, 3, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MedianInt(tt.in); got != tt.want {
				t.Fatalf("MedianInt(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMsFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{450 * time.Microsecond, "0.450 ms"},
		{25 * time.Millisecond, "25.00 ms"},
		{192 * time.Millisecond, "192.0 ms"},
	}
	for _, tt := range tests {
		if got := Ms(tt.in); got != tt.want {
			t.Errorf("Ms(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if s := Summarize(durs(1, 2)).String(); !strings.Contains(s, "p50 1.000 ms") {
		t.Errorf("String() = %q", s)
	}
}
