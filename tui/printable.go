package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text a user chose (session names, document titles, chat lines, admin
// messages) never reaches a terminal with control characters in it (SPEC
// §4): an ESC in a title would otherwise clear screens, set window titles
// or shift tables. Printable is the one place such text is made safe.

// UnsafeRune reports whether r must not be written to a terminal as it is:
// C0 controls (U+0000–001F), DEL (U+007F), C1 controls (U+0080–009F), the
// bidi embeddings and overrides U+202A–202E and the isolates U+2066–2069
// (which reorder the rest of the line). Invalid UTF-8 is unsafe too; see
// Printable.
func UnsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Printable returns s with every unsafe rune (UnsafeRune) escaped, for
// showing free text on a terminal: C0 controls and DEL in caret notation
// as `cat -v` prints them (ESC → "^[", BEL → "^G", DEL → "^?"), C1
// controls and bidi controls as "\u00XX"/"\u202E", and each byte of invalid
// UTF-8 as "\xNN". Text without unsafe runes is returned unchanged (no
// allocation).
func Printable(s string) string {
	if !hasUnsafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case UnsafeRune(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func hasUnsafe(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if UnsafeRune(r) {
			return true
		}
	}
	return false
}
