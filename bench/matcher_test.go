package bench

import "testing"

func TestMatcher(t *testing.T) {
	tests := []struct {
		name   string
		marker string
		chunks []string
		want   []bool
	}{
		{"whole in one chunk", "ctrl+b ? help", []string{"\x1b[7m alice · 1   ctrl+b ? help\x1b[m"}, []bool{true}},
		{"split across chunks", "ctrl+b ? help", []string{"ctrl+", "b ? he", "lp"}, []bool{false, false, true}},
		{"split one byte at a time", "abc", []string{"a", "b", "c"}, []bool{false, false, true}},
		{"near miss", "abc", []string{"ab", "xc"}, []bool{false, false}},
		{"starts over after a match", "ab", []string{"ab", "b", "a", "b"}, []bool{true, false, false, true}},
		{"empty marker matches at once", "", []string{"x"}, []bool{true}},
		{"multibyte", " bob · 1", []string{" bob \xc2", "\xb7 1"}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMatcher(tt.marker)
			for i, c := range tt.chunks {
				if got := m.Feed([]byte(c)); got != tt.want[i] {
					t.Fatalf("chunk %d %q: Feed = %v, want %v", i, c, got, tt.want[i])
				}
			}
		})
	}
}
