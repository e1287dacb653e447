package tui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Text a user chose (session names, document titles, chat lines, admin
// messages) never reaches a terminal with control characters in it (SPEC
// §4): an ESC in a title would otherwise clear screens, set window titles
// or shift tables. Printable is the one place such text is made safe.

// UnsafeRune reports whether r must not be written to a terminal as it is:
// C0 controls (U+0000–001F), DEL (U+007F), C1 controls (U+0080–009F), the
// line and paragraph separators U+2028/2029, and every format character
// (Unicode category Cf): the bidi marks, embeddings, overrides and
// isolates (LRM/RLM U+200E/200F, ALM U+061C, U+202A–202E, U+2066–2069),
// which reorder the rest of the line, and the invisible ones (zero-width
// space and joiners U+200B–200D, word joiner U+2060, BOM U+FEFF, soft
// hyphen U+00AD, tag characters U+E0000–E007F), which make two texts that
// look the same differ (issue 9). Invalid UTF-8 is unsafe too; see
// Printable.
func UnsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r < 0xa0:
		return false
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// ControlRune reports whether r is a control that changes what a terminal
// does or how it orders a line: C0, DEL, C1, the bidi embeddings and
// overrides U+202A–202E and the isolates U+2066–2069. It is UnsafeRune
// less the invisible format characters, for text kept as typed (a pasted
// document keeps its zero-width joiners; SPEC §4 asks only that it carry
// no escape sequences).
func ControlRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// InvisibleRune reports whether r shows as nothing (or as a blank) though
// it is not a space: UnsafeRune's format characters, and the other
// default-ignorable code points that are letters or marks (the combining
// grapheme joiner U+034F, Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
// Khmer U+17B4–17B5, Mongolian selectors U+180B–180F, variation selectors
// U+FE00–FE0F and U+E0100–E01EF). Names refuse them (SPEC §4, issue 9).
func InvisibleRune(r rune) bool {
	switch {
	case r == 0x034f, r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0,
		r >= 0x17b4 && r <= 0x17b5, r >= 0x180b && r <= 0x180f,
		r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef:
		return true
	}
	return r >= 0xa0 && UnsafeRune(r)
}

// Width is the cells s takes on a terminal, as the renderer counts them
// (wcwidth: a CJK character is 2, a combining mark 0); escape sequences
// take none. Tables pad with it (Cell) so a wide name cannot shift columns.
func Width(s string) int {
	if w, ok := asciiWidth(s); ok {
		return w
	}
	return ansi.StringWidthWc(s)
}

// Pad pads s with spaces to w cells (Width); wider text is kept whole, as
// fmt's %-Ns does, but counted in cells, not runes.
func Pad(s string, w int) string { return s + strings.Repeat(" ", max(w-Width(s), 0)) }

// Cell fits s into exactly w cells (Width): padded with spaces on the
// right, or cut with "…" when wider. A wide character that would straddle
// the edge is dropped and its cell padded.
func Cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if n := Width(s); n > w {
		s = ansi.TruncateWc(s, w, "…")
	}
	return s + strings.Repeat(" ", max(w-Width(s), 0))
}

// Printable returns s with every unsafe rune (UnsafeRune) escaped, for
// showing free text on a terminal: C0 controls and DEL in caret notation
// as `cat -v` prints them (ESC → "^[", BEL → "^G", DEL → "^?"), C1
// controls and format characters as "\u009B"/"\u200B" ("\U000E0041" above
// U+FFFF), and each byte of invalid
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
		case UnsafeRune(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08X`, r)
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
