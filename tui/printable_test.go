package tui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
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
		{name: "zero-width space", in: "ad\u200bmin", want: `ad\u200Bmin`},
		{name: "zero-width joiners", in: "a\u200cb\u200dc", want: `a\u200Cb\u200Dc`},
		{name: "word joiner and bom", in: "\ufeffa\u2060b", want: `\uFEFFa\u2060b`},
		{name: "lrm rlm alm", in: "a\u200eb\u200fc\u061cd", want: `a\u200Eb\u200Fc\u061Cd`},
		{name: "tag characters", in: "x\U000e0041\U000e007f", want: `x\U000E0041\U000E007F`},
		{name: "soft hyphen", in: "ab\u00adc", want: `ab\u00ADc`},
		{name: "line separator", in: "a\u2028b", want: `a\u2028b`},
		{name: "cjk and combining marks are text", in: "中文 cafe\u0301", want: "中文 cafe\u0301"},
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

// Cell fits text into table columns by terminal cells, not bytes or runes.
func TestCell(t *testing.T) {
	tests := []struct {
		name, in string
		w        int
		want     string
	}{
		{name: "pad ascii", in: "ab", w: 4, want: "ab  "},
		{name: "pad cjk", in: "中文", w: 6, want: "中文  "},
		{name: "exact cjk", in: "中文", w: 4, want: "中文"},
		{name: "cut ascii", in: "abcdef", w: 4, want: "abc…"},
		{name: "cut cjk on a cell edge", in: "中文会话", w: 4, want: "中… "},
		{name: "combining mark takes no cell", in: "e\u0301", w: 2, want: "e\u0301 "},
		{name: "zero width", in: "abc", w: 0, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cell(tt.in, tt.w)
			if got != tt.want {
				t.Fatalf("Cell(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
			}
			if w := Width(got); w != tt.w {
				t.Fatalf("Cell(%q, %d) is %d cells", tt.in, tt.w, w)
			}
		})
	}
}

// Names refuse what InvisibleRune reports; free text is escaped only for
// UnsafeRune (a variation selector keeps an emoji's look).
func TestInvisibleRune(t *testing.T) {
	tests := []struct {
		name      string
		r         rune
		invisible bool
		unsafe    bool
	}{
		{name: "letter", r: 'a'},
		{name: "cjk", r: '中'},
		{name: "zero-width space", r: 0x200b, invisible: true, unsafe: true},
		{name: "word joiner", r: 0x2060, invisible: true, unsafe: true},
		{name: "bom", r: 0xfeff, invisible: true, unsafe: true},
		{name: "tag", r: 0xe0041, invisible: true, unsafe: true},
		{name: "alm", r: 0x061c, invisible: true, unsafe: true},
		{name: "hangul filler", r: 0x3164, invisible: true},
		{name: "variation selector", r: 0xfe0f, invisible: true},
		{name: "combining grapheme joiner", r: 0x034f, invisible: true},
		{name: "esc is a control, not invisible", r: 0x1b, unsafe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InvisibleRune(tt.r); got != tt.invisible {
				t.Errorf("InvisibleRune(%U) = %v", tt.r, got)
			}
			if got := UnsafeRune(tt.r); got != tt.unsafe {
				t.Errorf("UnsafeRune(%U) = %v", tt.r, got)
			}
		})
	}
}

// Pad counts cells: a CJK name is padded to the same column as an ASCII
// one (the picker and the document list), and longer text is kept whole.
func TestPad(t *testing.T) {
	tests := []struct {
		name, in string
		w        int
		want     string
	}{
		{name: "ascii", in: "ab", w: 4, want: "ab  "},
		{name: "cjk", in: "中文", w: 6, want: "中文  "},
		{name: "longer kept", in: "中文会话", w: 4, want: "中文会话"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Pad(tt.in, tt.w); got != tt.want {
				t.Fatalf("Pad(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
			}
		})
	}
}

// The session picker keeps its STATE column in place for a CJK name.
func TestPickerAlignsWideNames(t *testing.T) {
	p := &Picker{User: "alice", Items: []PickItem{
		{Name: "work", State: "detached", LastActive: "1m", Apps: "notes"},
		{Name: "中文会话", State: "detached", LastActive: "1m", Apps: "notes"},
	}}
	lines := strings.Split(ansi.Strip(p.View(80, 24)), "\n")
	a, b := lines[1], lines[2]
	if wa, wb := Width(a[:strings.Index(a, "detached")]), Width(b[:strings.Index(b, "detached")]); wa != wb {
		t.Fatalf("STATE at cell %d and %d:\n%s\n%s", wa, wb, a, b)
	}
}
