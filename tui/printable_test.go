package tui

import (
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "notes für Ärger 中", want: "notes für Ärger 中"},
		{name: "clear screen and title", in: "\x1b[2J\x1b]0;x\a", want: "^[[2J^[]0;x^G"},
		{name: "tab and newline", in: "a\tb\nc\r", want: "a^Ib^Jc^M"},
		{name: "nul and del", in: "\x00\x7f", want: "^@^?"},
		{name: "c1 csi", in: "a\u009b2J", want: `a\u009B2J`},
		{name: "bidi override", in: "abc\u202edef", want: `abc\u202Edef`},
		{name: "bidi isolate", in: "\u2066x\u2069", want: `\u2066x\u2069`},
		{name: "invalid utf-8", in: "a\xffb\xe4\xb8", want: `a\xffb\xe4\xb8`},
		{name: "replacement char is text", in: "\ufffd", want: "\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Printable(tt.in)
			if got != tt.want {
				t.Fatalf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("Printable(%q) = %q: invalid UTF-8", tt.in, got)
			}
			for _, r := range got {
				if UnsafeRune(r) {
					t.Fatalf("Printable(%q) = %q keeps %U", tt.in, got, r)
				}
			}
		})
	}
}
