package sessions_test

import (
	"testing"
)

// Input split across reads (TCP segments, SSH packets) must decode as if it
// had arrived whole. "|" is typed last to mark where the cursor ended.
func TestInputSplitAcrossReads(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string // the first text line
	}{
		{name: "whole", chunks: []string{"ab\x1b[Dc"}, want: "ac|b"},
		{name: "one write per key", chunks: []string{"a", "b", "\x1b[D", "c"}, want: "ac|b"},
		{name: "whole utf-8", chunks: []string{"x中"}, want: "x中|"},
		{name: "utf-8 rune split", chunks: []string{"x\xe4\xb8", "\xad"}, want: "x中|"},
		{name: "escape sequence split", chunks: []string{"ab\x1b[", "Dc"}, want: "ac|b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			for _, ch := range tt.chunks {
				c.send(ch)
			}
			c.send("|")
			c.waitFor("|")
			if got := c.scr.Line(1); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}
