package tui

import (
	"testing"
)

func TestCharsetEncode(t *testing.T) {
	tests := []struct {
		name string
		cs   Charset
		in   string
		want string
	}{
		{name: "utf-8 as is", cs: UTF8, in: "a·╭─╮中", want: "a·╭─╮中"},
		{name: "cp437 middle dot", cs: CP437, in: " alice · 1", want: " alice \xfa 1"},
		{name: "cp437 box", cs: CP437, in: "╭─╮│╰╯┌┐", want: "\xda\xc4\xbf\xb3\xc0\xd9\xda\xbf"},
		{name: "cp437 letters", cs: CP437, in: "für Ärger é", want: "f\x81r \x8erger \x82"},
		{name: "cp437 ellipsis", cs: CP437, in: "ab…", want: "ab."},
		{name: "cp437 wide keeps cells", cs: CP437, in: "x中y", want: "x??y"},
		{name: "cp437 emoji keeps cells", cs: CP437, in: "🙂!", want: "??!"},
		{name: "cp437 combining mark dropped", cs: CP437, in: "e\u0301x", want: "ex"},
		{name: "ascii middle dot", cs: ASCII, in: " alice · 1", want: " alice . 1"},
		{name: "ascii box", cs: ASCII, in: "╭─╮│╰╯═║╬", want: "+-+|++-|+"},
		{name: "ascii letters", cs: ASCII, in: "für", want: "f?r"},
		{name: "escape sequences pass", cs: ASCII, in: "\x1b[1;7m·\x1b[0m\x1b]0;t\x07\x1b(B", want: "\x1b[1;7m.\x1b[0m\x1b]0;t\x07\x1b(B"},
		{name: "sgr with colon params", cs: CP437, in: "\x1b[38:5:11m─", want: "\x1b[38:5:11m\xc4"},
		{name: "truncated sequence", cs: ASCII, in: "a\x1b[", want: "a\x1b["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.cs.Encode(nil, []byte(tt.in))); got != tt.want {
				t.Fatalf("%v.Encode(%q) = %q, want %q", tt.cs, tt.in, got, tt.want)
			}
		})
	}
}

// Every character of code page 437's upper half encodes to its own byte.
func TestCP437Table(t *testing.T) {
	for i, r := range cp437High {
		if got := CP437.Encode(nil, []byte(string(r))); len(got) != 1 || got[0] != byte(0x80+i) {
			t.Errorf("%q (0x%02X) encodes to %q", r, 0x80+i, got)
		}
	}
}
