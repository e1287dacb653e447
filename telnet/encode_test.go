package telnet

import (
	"bytes"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name   string
		binary bool
		in     string
		want   string
	}{
		{"14 IAC doubled", false, "61 ff 62", "61 ff ff 62"},
		{"lone CR gets NUL", false, "61 0d 62", "61 0d 00 62"},
		{"CR at end gets NUL", false, "61 0d", "61 0d 00"},
		{"CR LF kept", false, "0d 0a", "0d 0a"},
		{"CR CR LF", false, "0d 0d 0a", "0d 00 0d 0a"},
		{"UTF-8 passes", false, "e2 94 80", "e2 94 80"},
		{"binary: CR bare", true, "0d 62", "0d 62"},
		{"binary: IAC still doubled", true, "ff", "ff ff"},
		{"empty", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			if tt.binary {
				feed(e, unhex("ff fd 00")) // client: DO BINARY
			}
			if got := e.Encode(nil, unhex(tt.in)); !bytes.Equal(got, unhex(tt.want)) {
				t.Errorf("Encode(%s) = % x, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncodeAppends(t *testing.T) {
	dst := []byte("x")
	if got := NewEngine().Encode(dst, []byte("y")); string(got) != "xy" {
		t.Errorf("Encode appended to %q, got %q", "x", got)
	}
}
