package notes_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
	"termhost/tui/notes"
)

// prose returns n bytes of text: lines of about 60 bytes joined by "\n",
// or (lines false) one line of words.
func prose(n int, lines bool) string {
	words := []string{"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"}
	var b strings.Builder
	b.Grow(n + 16)
	col := 0
	for i := 0; b.Len() < n; i++ {
		w := words[i%len(words)]
		switch {
		case col == 0:
		case lines && col+len(w) > 60:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()[:n]
}

// benchApp is a Notes tab with no store behind it.
func benchApp(tb testing.TB, body string, row, col int) tui.App {
	tb.Helper()
	raw, err := json.Marshal(map[string]any{"body": body, "row": row, "col": col, "goal": col, "top": max(row-10, 0), "dirty": true})
	if err != nil {
		tb.Fatal(err)
	}
	app, err := notes.Kind().Restore(tui.Env{User: "bench", Notify: func(string) {}}, notes.Version, raw)
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// readSize is how many bytes the session layer reads (and decodes into
// keys, then renders once) per batch.
const readSize = 4096

// typeKeys feeds s as key presses, one View per readSize bytes, as a paste
// arrives over SSH or telnet (no bracketed paste).
func typeKeys(app tui.App, s string, w, h int) {
	n := 0
	for _, r := range s {
		app.Update(key(r))
		if n += utf8.RuneLen(r); n >= readSize {
			app.View(w, h)
			n = 0
		}
	}
	app.View(w, h)
}

// BenchmarkPaste1MB pastes 1 MB into an empty note: as key presses (what a
// terminal sends) and as one paste message, in lines and as a single line.
func BenchmarkPaste1MB(b *testing.B) {
	for _, sz := range []struct {
		name string
		n    int
	}{{"256KB", 256 << 10}, {"1MB", 1_000_000}} {
		size := sz.n
		for _, lines := range []bool{true, false} {
			text := prose(size, lines)
			shape := "lines"
			if !lines {
				shape = "one-line"
			}
			b.Run(fmt.Sprintf("keys/%s/%s", shape, sz.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					typeKeys(benchApp(b, "", 0, 0), text, 80, 24)
				}
			})
			b.Run(fmt.Sprintf("paste/%s/%s", shape, sz.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					app := benchApp(b, "", 0, 0)
					app.Update(tea.PasteMsg{Content: text})
					app.View(80, 24)
				}
			})
		}
	}
}

// BenchmarkType100kLines types a character, Enter, and two backspaces
// (leaving the text as it was) at the middle of a 100,000-line note,
// rendering after each key as the session does.
func BenchmarkType100kLines(b *testing.B) {
	var sb strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%05d\n", i)
	}
	app := benchApp(b, sb.String(), 50_000, 5)
	app.View(80, 24)
	keys := []tea.KeyPressMsg{{Code: 'x', Text: "x"}, {Code: tea.KeyEnter}, {Code: tea.KeyBackspace}, {Code: tea.KeyBackspace}}
	for b.Loop() {
		for _, k := range keys {
			app.Update(k)
			app.View(80, 24)
		}
	}
}

// BenchmarkSnapshot100kLines is the snapshot of a 100,000-line note (the
// session takes one at most every 100 ms while the user types).
func BenchmarkSnapshot100kLines(b *testing.B) {
	var sb strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%05d\n", i)
	}
	app := benchApp(b, sb.String(), 50_000, 5)
	app.Update(tea.KeyPressMsg{Code: 'x', Text: "x"})
	b.SetBytes(int64(sb.Len()))
	for b.Loop() {
		if _, err := app.State(); err != nil {
			b.Fatal(err)
		}
	}
}
