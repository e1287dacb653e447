package notes_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
	"termhost/tui/notes"
)

// restoredNote is a Notes tab restored with body and the cursor at
// row, col; notices collects what it tells the status bar.
func restoredNote(t testing.TB, body string, row, col int, notices *[]string) tui.App {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"body": body, "row": row, "col": col, "goal": col})
	if err != nil {
		t.Fatal(err)
	}
	env := tui.Env{User: "alice", Notify: func(m string) {
		if notices != nil {
			*notices = append(*notices, m)
		}
	}}
	app, err := notes.Kind().Restore(env, notes.Version, raw)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// body is the note's text as its snapshot holds it.
func body(t testing.TB, app tui.App) string {
	t.Helper()
	raw, err := app.State()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Body  string `json:"body"`
		Dirty bool   `json:"dirty"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.Body
}

// TestPaste1MB: a 1 MB paste, as one paste message or as the key presses
// a terminal sends, yields exactly the text pasted, and the view shows
// its end with the cursor after it.
func TestPaste1MB(t *testing.T) {
	const size = 1_000_000
	tests := []struct {
		name string
		text string
		want string
		keys bool
	}{
		{name: "lines, pasted", text: prose(size, true), want: prose(size, true)},
		{name: "lines, typed", text: prose(size, true), want: prose(size, true), keys: true},
		{name: "one line, pasted", text: prose(size, false), want: prose(size, false)},
		{name: "one line, typed", text: prose(size, false), want: prose(size, false), keys: true},
		{name: "CR LF lines", text: strings.ReplaceAll(prose(size, true), "\n", "\r\n"), want: prose(size, true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := restoredNote(t, "", 0, 0, nil)
			if tt.keys {
				for _, r := range tt.text { // rendered once, below: TestPasteCostIsLinear renders per read
					app.Update(key(r))
				}
			} else {
				app.Update(tea.PasteMsg{Content: tt.text})
			}
			if got := body(t, app); got != tt.want {
				t.Fatalf("body is %d bytes, want %d; differs from byte %d", len(got), len(tt.want), firstDiff(got, tt.want))
			}
			view, cur := app.View(80, 24)
			lastLine := tt.want[strings.LastIndexByte(tt.want, '\n')+1:]
			tail := lastLine[len(lastLine)-len(lastLine)%80:]
			if len(lastLine)%80 == 0 {
				tail = ""
			}
			rows := append(strings.Split(view, "\n"), "") // a full last row puts the cursor below it
			if cur == nil || cur.Y >= 24 || rows[cur.Y] != tail || cur.X != len(tail) {
				t.Fatalf("cursor %v, rows %q; want the cursor after %q", cur, rows, tail)
			}
		})
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPasteCostIsLinear: four times the paste allocates about four times
// the memory, not sixteen (the editor copied the line for every rune, and
// the view re-wrapped every line above the cursor for every line it
// scrolled).
func TestPasteCostIsLinear(t *testing.T) {
	tests := []struct {
		name  string
		lines bool
		keys  bool
	}{
		{name: "one line, typed", keys: true},
		{name: "lines, typed", lines: true, keys: true},
		{name: "one line, pasted"},
		{name: "lines, pasted", lines: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cost := func(n int) uint64 {
				text := prose(n, tt.lines)
				app := restoredNote(t, "", 0, 0, nil)
				app.View(80, 24)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if tt.keys {
					typeKeys(app, text, 80, 24)
				} else {
					app.Update(tea.PasteMsg{Content: text})
					app.View(80, 24)
				}
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			small, big := cost(32<<10), cost(128<<10)
			if ratio := float64(big) / float64(small); ratio > 8 {
				t.Errorf("32 KiB allocated %d B, 128 KiB %d B: ×%.1f, want about ×4 (linear)", small, big, ratio)
			}
		})
	}
}

// TestEnterInLongNote: typing and Enter in the middle of a 100,000-line
// note allocate a few KiB per key, not a copy of the lines after the
// cursor (1.2 MB per Enter before).
func TestEnterInLongNote(t *testing.T) {
	var sb strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%05d\n", i)
	}
	app := restoredNote(t, sb.String(), 50_000, 5, nil)
	keys := []tea.KeyPressMsg{{Code: 'x', Text: "x"}, {Code: tea.KeyEnter}, {Code: tea.KeyBackspace}, {Code: tea.KeyBackspace}}
	round := func() {
		for _, k := range keys {
			app.Update(k)
			app.View(80, 24)
		}
	}
	round() // the first Enter makes room among the lines once
	const rounds = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rounds {
		round()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / rounds / uint64(len(keys)); per > 16<<10 {
		t.Errorf("%d B allocated per key, want ≤ 16 KiB", per)
	}
	if got := body(t, app); got != sb.String() {
		t.Errorf("text changed after typing and erasing: %d bytes, want %d", len(got), sb.Len())
	}
}

// TestUnsavedSizeCap: Notes refuses text that would grow the note past the
// document size cap (SPEC §7) whole, with a notice; what fits is taken.
// TestEditorLimit counts the bytes of each kind of input.
func TestUnsavedSizeCap(t *testing.T) {
	const limit = tui.MaxDocumentSize
	notice := fmt.Sprintf("document too large: %d KiB max", limit>>10)
	tests := []struct {
		name    string
		start   int // bytes of text before
		input   tea.Msg
		grow    int // bytes the text should grow by
		refused bool
	}{
		{name: "paste that fits exactly", start: limit - 10, input: tea.PasteMsg{Content: "0123456789"}, grow: 10},
		{name: "paste one byte too big is refused whole", start: limit - 10, input: tea.PasteMsg{Content: "0123456789A"}, refused: true},
		{name: "a key at the cap is refused", start: limit, input: key('x'), refused: true},
		{name: "a 2 MB paste into an empty note is refused", input: tea.PasteMsg{Content: strings.Repeat("y", 2<<20)}, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := strings.Repeat("a", tt.start)
			var notices []string
			app := restoredNote(t, start, 0, tt.start, &notices)
			app.Update(tt.input)
			got := body(t, app)
			if len(got) != tt.start+tt.grow {
				t.Errorf("text is %d bytes, want %d", len(got), tt.start+tt.grow)
			}
			told := len(notices) > 0 && notices[len(notices)-1] == notice
			if told != tt.refused {
				t.Errorf("notices %q; want %q: %v", notices, notice, tt.refused)
			}
		})
	}
}

// key is the key press that types r (Enter for "\n").
func key(r rune) tea.KeyPressMsg {
	if r == '\n' {
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	return tea.KeyPressMsg{Code: r, Text: string(r)}
}
