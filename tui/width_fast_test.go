package tui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// The fast paths of truncate and Width give what the ansi package gives
// for any string: plain, styled, wide, combining, control, invalid.
func FuzzWidthFastPath(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[7m inverse \x1b[m", "日本語", "emoji🙂", "e\u0301", "tab\there", "\x00\x7f", "\xff\xfe", "👨‍👩‍👧‍👦 family"} {
		f.Add(s, 3)
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, width int) {
		width = min(max(width, 0), 200)
		if got, want := truncate(s, width), ansi.TruncateWc(s, width, ""); got != want {
			t.Errorf("truncate(%q, %d) = %q, want %q", s, width, got, want)
		}
		if got, want := Width(s), ansi.StringWidthWc(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	})
}
