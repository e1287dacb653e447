package tui

import (
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Charset is the character set a client's terminal shows (SPEC §4:
// UTF-8 by default; BBS terminals get CP437, old or non-UTF-8 ones ASCII).
//
// The workspace draws one view in UTF-8 for every client of a session, so
// a client's charset applies at output time: Encode transcodes the
// renderer's frame for that client. Each character becomes exactly as many
// cells as it was drawn with, so the renderer's cursor arithmetic holds.
type Charset int

// Charsets.
const (
	UTF8  Charset = iota // output as drawn
	CP437                // IBM PC code page 437: box lines, ·, accented letters
	ASCII                // 7-bit: box lines become - | +
)

func (cs Charset) String() string {
	switch cs {
	case CP437:
		return "cp437"
	case ASCII:
		return "ascii"
	}
	return "utf-8"
}

// cp437High is code page 437's upper half, bytes 0x80–0xFF.
var cp437High = [128]rune([]rune(
	"ÇüéâäàåçêëèïîìÄÅ" +
		"ÉæÆôöòûùÿÖÜ¢£¥₧ƒ" +
		"áíóúñÑªº¿⌐¬½¼¡«»" +
		"░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
		"└┴┬├─┼╞╟╚╔╩╦╠═╬╧" +
		"╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
		"αßΓπΣσµτΦΘΩδ∞φε∩" +
		"≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"))

var cp437Byte = func() map[rune]byte {
	m := make(map[rune]byte, len(cp437High))
	for i, r := range cp437High {
		m[r] = byte(0x80 + i)
	}
	return m
}()

// fallback maps characters the workspace and its apps draw to a
// one-cell stand-in: a CP437 character where there is one, else ASCII.
var fallback = map[rune]struct{ cp437, ascii rune }{
	'╭': {'┌', '+'}, '╮': {'┐', '+'}, '╰': {'└', '+'}, '╯': {'┘', '+'},
	'━': {'─', '-'}, '┃': {'│', '|'}, '…': {'.', '.'}, '•': {'∙', '*'},
	'–': {'-', '-'}, '—': {'-', '-'}, '‘': {'\'', '\''}, '’': {'\'', '\''},
	'“': {'"', '"'}, '”': {'"', '"'}, '▶': {'>', '>'}, '◀': {'<', '<'},
	'►': {'>', '>'}, '◄': {'<', '<'}, '↑': {'^', '^'}, '↓': {'v', 'v'},
	'→': {'>', '>'}, '←': {'<', '<'}, '✓': {'√', 'v'}, '×': {'x', 'x'},
}

// asciiOf is the ASCII stand-in for a CP437 drawing character.
func asciiOf(r rune) (rune, bool) {
	switch {
	case r == '─' || r == '═':
		return '-', true
	case r == '│' || r == '║':
		return '|', true
	case r >= 0x2500 && r <= 0x257f: // the other box-drawing characters
		return '+', true
	case r >= 0x2580 && r <= 0x259f: // blocks and shades
		return '#', true
	case r == '·' || r == '∙':
		return '.', true
	case r == '\u00a0':
		return ' ', true
	case r == '°':
		return 'o', true
	case r == '«':
		return '<', true
	case r == '»':
		return '>', true
	}
	return 0, false
}

// Encode appends frame (UTF-8 text and escape sequences, as a renderer
// writes it) to dst in cs. Escape sequences pass unchanged; a character
// cs lacks becomes its stand-in (fallback, asciiOf) or one '?' per cell
// it occupies, and zero-width ones are dropped. UTF8 appends frame as is.
func (cs Charset) Encode(dst, frame []byte) []byte {
	if cs == UTF8 {
		return append(dst, frame...)
	}
	for i := 0; i < len(frame); {
		b := frame[i]
		if b == 0x1b {
			j := seqEnd(frame, i)
			dst = append(dst, frame[i:j]...)
			i = j
			continue
		}
		if b < 0x80 {
			dst = append(dst, b)
			i++
			continue
		}
		// Cells as the renderer counts them (ultraviolet's default, WcWidth).
		cluster, width := ansi.FirstGraphemeCluster(frame[i:], ansi.WcWidth)
		if len(cluster) == 0 {
			cluster = frame[i : i+1]
		}
		i += len(cluster)
		if r, n := utf8.DecodeRune(cluster); n == len(cluster) {
			if c, ok := cs.byteFor(r); ok {
				dst = append(dst, c)
				continue
			}
		}
		for range width {
			dst = append(dst, '?')
		}
	}
	return dst
}

// byteFor is r's one-byte form in cs (not UTF8).
func (cs Charset) byteFor(r rune) (byte, bool) {
	if f, ok := fallback[r]; ok {
		if cs == ASCII {
			r = f.ascii
		} else {
			r = f.cp437
		}
	}
	if r < 0x80 {
		return byte(r), true
	}
	if cs == CP437 {
		c, ok := cp437Byte[r]
		return c, ok
	}
	if a, ok := asciiOf(r); ok {
		return byte(a), true
	}
	return 0, false
}

// seqEnd returns where the escape sequence starting at frame[i] ends.
func seqEnd(frame []byte, i int) int {
	n := len(frame)
	j := i + 1
	if j >= n {
		return n
	}
	switch frame[j] {
	case '[': // CSI: parameters and intermediates, then a final byte
		j++
		for j < n && frame[j] >= 0x20 && frame[j] <= 0x3f {
			j++
		}
		return min(j+1, n)
	case ']', 'P', '_', '^', 'X': // strings up to BEL or ST
		for j++; j < n; j++ {
			if frame[j] == 0x07 {
				return j + 1
			}
			if frame[j] == 0x1b && j+1 < n && frame[j+1] == '\\' {
				return j + 2
			}
		}
		return n
	}
	for j < n && frame[j] >= 0x20 && frame[j] <= 0x2f { // ESC ( B and the like
		j++
	}
	return min(j+1, n)
}

// CP437Rune is the character a CP437 terminal sends as byte b ≥ 0x80
// (code page 437's upper half); sessions transcodes such a client's input
// with it.
func CP437Rune(b byte) rune { return cp437High[b&0x7f] }
