package sessions

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
)

// FuzzInputDecoder: input decodes the same whether it arrives whole or
// split in two reads (a lone ESC included: it waits for the next read or
// EscapeTime), and never panics.
func FuzzInputDecoder(f *testing.F) {
	for _, seed := range []string{"ab\x1b[Dc", "x中y", "\x1b[1;5C", "\x1bOA", "\x1b\x1b[A", "a\x1bb", "\xe4\xb8\xad\xe6", "\x1b[200~paste\x1b[201~", "\x02d", "\x1b[[A", "\x1b[2$", "x\x1b"} {
		f.Add([]byte(seed), uint8(len(seed)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, at uint8) {
		k := int(at) % (len(in) + 1)
		var whole, split inputDecoder
		want := effect(whole.decode(in))
		got := effect(append(split.decode(in[:k]), split.decode(in[k:])...))
		// Past maxTail bytes a sequence is decoded as it stands (memory
		// stays bounded), and invalid UTF-8 may hold 8-bit C1 controls that
		// keyboards never send: only short, valid input must be
		// split-invariant; everything must merely not panic.
		if len(in) <= maxTail && utf8.Valid(in) && keyboardLike(in) && (got != want || !bytes.Equal(whole.tail, split.tail)) {
			t.Fatalf("split at %d of %q:\nwhole %s tail %q\nsplit %s tail %q", k, in, want, whole.tail, got, split.tail)
		}
		if len(whole.tail) > maxTail {
			t.Fatalf("tail of %d bytes", len(whole.tail))
		}
	})
}

// effect is what messages do to a text field: typed text concatenated (a
// grapheme split across reads arrives as two keys but types the same),
// other keys by name.
func effect(msgs []tea.Msg) string {
	var b strings.Builder
	for _, m := range msgs {
		if k, ok := m.(tea.KeyPressMsg); ok && k.Text != "" && k.Mod&^tea.ModShift == 0 {
			b.WriteString(k.Text)
			continue
		}
		fmt.Fprintf(&b, "<%v>", m)
	}
	return b.String()
}

var mouseRE = regexp.MustCompile(`\x1b\[[\x20-\x3f]*[Mm]`)

// keyboardLike excludes what only a terminal sends when asked (mouse
// reports, control-string replies): termhost never asks, and the decoder's
// handling of their garbage forms is its own business.
func keyboardLike(in []byte) bool {
	if mouseRE.Match(in) {
		return false
	}
	// alt+ a non-ASCII grapheme: its combining marks may be split off.
	for i := 0; i+1 < len(in); i++ {
		if in[i] == 0x1b && in[i+1] >= 0x80 {
			return false
		}
	}
	// Format characters such as U+06DD join the next character into one
	// grapheme: split between them, ESC+mark and the rest decode apart.
	for _, r := range string(in) {
		if unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	for _, intro := range []string{"\x1bP", "\x1bX", "\x1b^", "\x1b_", "\x1b]"} {
		if bytes.Contains(in, []byte(intro)) {
			return false
		}
	}
	return true
}
