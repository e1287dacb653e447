package admission

import (
	"testing"
	"time"
)

func TestConnRate(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	tests := []struct {
		name  string
		rate  float64
		burst float64
		steps []struct {
			advance time.Duration
			source  string
			want    bool
		}
	}{
		{"burst then refuse then refill", 2, 3, []struct {
			advance time.Duration
			source  string
			want    bool
		}{
			{0, "a", true}, {0, "a", true}, {0, "a", true}, {0, "a", false},
			{0, "b", true}, // other sources are not affected
			{500 * time.Millisecond, "a", true}, {0, "a", false},
			{10 * time.Second, "a", true}, {0, "a", true}, {0, "a", true}, {0, "a", false},
		}},
		{"zero rate admits all", 0, 0, []struct {
			advance time.Duration
			source  string
			want    bool
		}{{0, "a", true}, {0, "a", true}, {0, "a", true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewConnRate(tc.rate, tc.burst, clock)
			for i, st := range tc.steps {
				now = now.Add(st.advance)
				if got := r.Allow(st.source); got != st.want {
					t.Fatalf("step %d (%s): Allow = %v, want %v", i, st.source, got, st.want)
				}
			}
		})
	}
}
