package notes

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// refEditor is the editor as it was before issue 8 (one []rune per line,
// copied on every edit; quadratic, obviously right), the model the gap
// buffers are checked against. The one intended difference: "\r\n" is one
// line break.
type refEditor struct {
	lines    [][]rune
	row, col int
	goal     int
}

func (e *refEditor) text() string {
	parts := make([]string, len(e.lines))
	for i, l := range e.lines {
		parts[i] = string(l)
	}
	return strings.Join(parts, "\n")
}

func (e *refEditor) insert(s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			rest := append([]rune(nil), e.lines[e.row][e.col:]...)
			e.lines[e.row] = e.lines[e.row][:e.col:e.col]
			e.lines = slices.Insert(e.lines, e.row+1, rest)
			e.row, e.col = e.row+1, 0
		case r == '\t':
			e.lines[e.row] = slices.Insert(slices.Clip(e.lines[e.row]), e.col, ' ', ' ', ' ', ' ')
			e.col += 4
		case unicode.IsPrint(r) || r > 0x7f && !unicode.IsControl(r):
			e.lines[e.row] = slices.Insert(slices.Clip(e.lines[e.row]), e.col, r)
			e.col++
		}
	}
	e.goal = e.col
}

func (e *refEditor) backspace() {
	switch {
	case e.col > 0:
		e.lines[e.row] = slices.Delete(slices.Clone(e.lines[e.row]), e.col-1, e.col)
		e.col--
	case e.row > 0:
		e.col = len(e.lines[e.row-1])
		e.lines[e.row-1] = append(slices.Clip(e.lines[e.row-1]), e.lines[e.row]...)
		e.lines = slices.Delete(e.lines, e.row, e.row+1)
		e.row--
	}
	e.goal = e.col
}

func (e *refEditor) del() {
	switch {
	case e.col < len(e.lines[e.row]):
		e.lines[e.row] = slices.Delete(slices.Clone(e.lines[e.row]), e.col, e.col+1)
	case e.row < len(e.lines)-1:
		e.lines[e.row] = append(slices.Clip(e.lines[e.row]), e.lines[e.row+1]...)
		e.lines = slices.Delete(e.lines, e.row+1, e.row+2)
	}
}

// refLayout is Notes.layout as it was: it moves top down one line at a
// time, re-counting the rows above the cursor each time.
func refLayout(lines [][]rune, row, col, top, width, height int) (int, int, int, []string) {
	wrap := func(line []rune) [][]rune {
		if len(line) == 0 {
			return [][]rune{nil}
		}
		var segs [][]rune
		start, w := 0, 0
		for i, r := range line {
			rw := ansi.StringWidthWc(string(r))
			if rw <= 0 {
				rw = 1
			}
			if w+rw > width && i > start {
				segs = append(segs, line[start:i])
				start, w = i, 0
			}
			w += rw
		}
		return append(segs, line[start:])
	}
	cursorIn := func(line []rune) (int, int) {
		pos := 0
		segs := wrap(line)
		for i, seg := range segs {
			if col < pos+len(seg) || i == len(segs)-1 {
				x := ansi.StringWidthWc(string(seg[:col-pos]))
				if x >= width {
					return i + 1, 0
				}
				return i, x
			}
			pos += len(seg)
		}
		return 0, 0
	}
	top = min(max(top, 0), row)
	var curRow, curCol, curSub int
	for {
		before := 0
		for i := top; i < row; i++ {
			before += len(wrap(lines[i]))
		}
		curSub, curCol = cursorIn(lines[row])
		curRow = before + curSub
		if curRow < height || top == row {
			break
		}
		top++
	}
	skip := max(curRow-height+1, 0)
	var rows []string
	for i := top; i < len(lines) && len(rows) < height+skip; i++ {
		for _, seg := range wrap(lines[i]) {
			rows = append(rows, string(seg))
		}
	}
	rows = rows[min(skip, len(rows)):]
	if len(rows) > height {
		rows = rows[:height]
	}
	return top, curCol, curRow - skip, rows
}

var editorWords = []string{"a", "hello ", "wörld", "日本語", "🙂", "\t", "\n", "\r\n", "\r", "x\ny\nz", "\x01", strings.Repeat("long ", 30)}

// TestEditorMatchesModel drives random edits, moves and layouts into the
// editor and the reference model and compares text, cursor, size and the
// rows on screen after every step.
func TestEditorMatchesModel(t *testing.T) {
	tests := []struct {
		name  string
		seed  uint64
		start string
		steps int
	}{
		{name: "empty note", seed: 1, steps: 1000},
		{name: "lines", seed: 2, start: "one\ntwo two\n\nfour 四\nfive", steps: 1000},
		{name: "long line", seed: 3, start: strings.Repeat("abc def ", 200), steps: 1000},
		{name: "many lines", seed: 4, start: strings.Repeat("x\n", 200), steps: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tt.seed, 7))
			e := newEditor(tt.start)
			e.limit = 0
			ref := &refEditor{}
			for _, p := range strings.Split(tt.start, "\n") {
				ref.lines = append(ref.lines, []rune(p))
			}
			top, w, h := 0, 0, 0
			for step := range tt.steps {
				var op string
				switch k := r.IntN(16); {
				case k < 6:
					s := editorWords[r.IntN(len(editorWords))]
					op = fmt.Sprintf("insert %q", s)
					e.insert(s)
					ref.insert(s)
				case k < 8:
					op = "backspace"
					e.backspace()
					ref.backspace()
				case k < 9:
					op = "del"
					e.del()
					ref.del()
				default:
					op = moveEditors(r, e, ref)
				}
				if got, want := e.text(), ref.text(); got != want {
					t.Fatalf("step %d %s: text\n%q\nwant\n%q", step, op, got, want)
				}
				if e.row != ref.row || e.col != ref.col || e.goal != ref.goal {
					t.Fatalf("step %d %s: cursor %d,%d goal %d, want %d,%d goal %d", step, op, e.row, e.col, e.goal, ref.row, ref.col, ref.goal)
				}
				if e.size != len(ref.text()) {
					t.Fatalf("step %d %s: size %d, want %d", step, op, e.size, len(ref.text()))
				}
				if step == 0 || r.IntN(8) == 0 { // mostly one size, as a user types: the row cache is used
					w, h = 5+r.IntN(40), 1+r.IntN(12)
				}
				gotTop, gx, gy, gotRows := e.layout(top, w, h)
				wantTop, wx, wy, wantRows := refLayout(ref.lines, ref.row, ref.col, top, w, h)
				if gotTop != wantTop || gx != wx || gy != wy || !slices.Equal(gotRows, wantRows) {
					t.Fatalf("step %d %s at %dx%d top %d: layout top %d cursor %d,%d rows %q\nwant top %d cursor %d,%d rows %q",
						step, op, w, h, top, gotTop, gx, gy, gotRows, wantTop, wx, wy, wantRows)
				}
				top = gotTop
			}
		})
	}
}

// moveEditors applies one cursor move to both editors and names it.
func moveEditors(r *rand.Rand, e *editor, ref *refEditor) string {
	switch r.IntN(8) {
	case 0:
		e.left()
		if ref.col > 0 {
			ref.col--
		} else if ref.row > 0 {
			ref.row--
			ref.col = len(ref.lines[ref.row])
		}
		ref.goal = ref.col
		return "left"
	case 1:
		e.right()
		if ref.col < len(ref.lines[ref.row]) {
			ref.col++
		} else if ref.row < len(ref.lines)-1 {
			ref.row, ref.col = ref.row+1, 0
		}
		ref.goal = ref.col
		return "right"
	case 2, 3:
		n := []int{-1, 1, -7, 7}[r.IntN(4)]
		e.vertical(n)
		ref.row = min(max(ref.row+n, 0), len(ref.lines)-1)
		ref.col = min(ref.goal, len(ref.lines[ref.row]))
		return fmt.Sprintf("vertical %d", n)
	case 4:
		e.home()
		ref.col, ref.goal = 0, 0
		return "home"
	case 5:
		e.end()
		ref.col = len(ref.lines[ref.row])
		ref.goal = ref.col
		return "end"
	case 6:
		e.wordRight()
		l := ref.lines[ref.row]
		if ref.col >= len(l) {
			if ref.row < len(ref.lines)-1 {
				ref.row, ref.col = ref.row+1, 0
			}
		} else {
			for ref.col < len(l) && !unicode.IsSpace(l[ref.col]) {
				ref.col++
			}
			for ref.col < len(l) && unicode.IsSpace(l[ref.col]) {
				ref.col++
			}
		}
		ref.goal = ref.col
		return "wordRight"
	default:
		e.wordLeft()
		if ref.col == 0 {
			if ref.row > 0 {
				ref.row--
				ref.col = len(ref.lines[ref.row])
			}
		} else {
			l := ref.lines[ref.row]
			for ref.col > 0 && unicode.IsSpace(l[ref.col-1]) {
				ref.col--
			}
			for ref.col > 0 && !unicode.IsSpace(l[ref.col-1]) {
				ref.col--
			}
		}
		ref.goal = ref.col
		return "wordLeft"
	}
}

// TestEditorLimit: insert refuses, whole, what would grow the text past
// the limit, counting the bytes text() will hold.
func TestEditorLimit(t *testing.T) {
	tests := []struct {
		name  string
		start string
		ops   func(e *editor) bool // reports what the last insert said
		want  string
		ok    bool
	}{
		{name: "fits exactly", start: "abcdef", ops: func(e *editor) bool { return e.insert("ghij") }, want: "abcdefghij", ok: true},
		{name: "one byte over is refused whole", start: "abcdef", ops: func(e *editor) bool { return e.insert("ghijk") }, want: "abcdef"},
		{name: "a key at the limit", start: "abcdefghij", ops: func(e *editor) bool { return e.insert("x") }, want: "abcdefghij"},
		{name: "Enter at the limit", start: "abcdefghij", ops: func(e *editor) bool { return e.insert("\n") }, want: "abcdefghij"},
		{name: "a tab is four bytes", start: "abcdefg", ops: func(e *editor) bool { return e.insert("\t") }, want: "abcdefg"},
		{name: "a wide character counts its bytes", start: "abcdefgh", ops: func(e *editor) bool { return e.insert("語") }, want: "abcdefgh"},
		{name: "CR LF is one byte", start: "abcdefghi", ops: func(e *editor) bool { return e.insert("\r\n") }, want: "abcdefghi\n", ok: true},
		{name: "control characters cost nothing", start: "abcdefghij", ops: func(e *editor) bool { return e.insert("\x01\x02") }, want: "abcdefghij", ok: true},
		{name: "backspace makes room", start: "abcdefghij", ops: func(e *editor) bool { e.backspace(); return e.insert("x") }, want: "abcdefghix", ok: true},
		{name: "delete makes room", start: "abcdefghij", ops: func(e *editor) bool { e.home(); e.del(); return e.insert("x") }, want: "xbcdefghij", ok: true},
		{name: "joining lines makes room", start: "abcd\nefghi", ops: func(e *editor) bool { e.home(); e.backspace(); return e.insert("x") }, want: "abcdxefghi", ok: true},
		{name: "invalid UTF-8 counts as U+FFFD", start: "ab\xffc", ops: func(e *editor) bool { return e.insert("dd") }, want: "ab\uFFFDcdd", ok: true},
		{name: "over the limit already: nothing more", start: "abcdefghijkl", ops: func(e *editor) bool { return e.insert("x") }, want: "abcdefghijkl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditor(tt.start)
			e.limit = 10
			e.row, e.col = e.lineCount()-1, e.lineLen(e.lineCount()-1)
			ok := tt.ops(e)
			if got := e.text(); got != tt.want || ok != tt.ok {
				t.Errorf("text %q, insert said %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
			if e.size != len(e.text()) {
				t.Errorf("size %d, text is %d bytes", e.size, len(e.text()))
			}
		})
	}
}
