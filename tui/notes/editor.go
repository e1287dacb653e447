// Package notes is the Notes app: one document per tab, edited in place.
package notes

import (
	"strings"
	"unicode"
)

// editor is a plain-text buffer with a cursor. Columns count runes.
type editor struct {
	lines [][]rune
	row   int
	col   int
	goal  int // column that vertical moves aim for
}

func newEditor(text string) *editor {
	e := &editor{}
	e.setText(text)
	return e
}

func (e *editor) setText(text string) {
	parts := strings.Split(text, "\n")
	e.lines = make([][]rune, len(parts))
	for i, p := range parts {
		e.lines[i] = []rune(p)
	}
	e.clamp()
}

func (e *editor) text() string {
	parts := make([]string, len(e.lines))
	for i, l := range e.lines {
		parts[i] = string(l)
	}
	return strings.Join(parts, "\n")
}

func (e *editor) clamp() {
	e.row = min(max(e.row, 0), len(e.lines)-1)
	e.col = min(max(e.col, 0), len(e.lines[e.row]))
}

func (e *editor) insert(s string) {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			e.newline()
		case r == '\t':
			e.insertRunes([]rune("    "))
		case unicode.IsPrint(r) || r > 0x7f && !unicode.IsControl(r):
			e.insertRunes([]rune{r})
		}
	}
	e.goal = e.col
}

func (e *editor) insertRunes(rs []rune) {
	l := e.lines[e.row]
	nl := make([]rune, 0, len(l)+len(rs))
	nl = append(nl, l[:e.col]...)
	nl = append(nl, rs...)
	nl = append(nl, l[e.col:]...)
	e.lines[e.row] = nl
	e.col += len(rs)
}

func (e *editor) newline() {
	l := e.lines[e.row]
	rest := append([]rune(nil), l[e.col:]...)
	e.lines[e.row] = l[:e.col:e.col]
	e.lines = append(e.lines[:e.row+1], append([][]rune{rest}, e.lines[e.row+1:]...)...)
	e.row++
	e.col = 0
}

func (e *editor) backspace() {
	switch {
	case e.col > 0:
		l := e.lines[e.row]
		e.lines[e.row] = append(l[:e.col-1:e.col-1], l[e.col:]...)
		e.col--
	case e.row > 0:
		prev := e.lines[e.row-1]
		e.col = len(prev)
		e.lines[e.row-1] = append(prev[:len(prev):len(prev)], e.lines[e.row]...)
		e.lines = append(e.lines[:e.row], e.lines[e.row+1:]...)
		e.row--
	}
	e.goal = e.col
}

func (e *editor) del() {
	l := e.lines[e.row]
	switch {
	case e.col < len(l):
		e.lines[e.row] = append(l[:e.col:e.col], l[e.col+1:]...)
	case e.row < len(e.lines)-1:
		e.lines[e.row] = append(l[:len(l):len(l)], e.lines[e.row+1]...)
		e.lines = append(e.lines[:e.row+1], e.lines[e.row+2:]...)
	}
}

func (e *editor) left() {
	if e.col > 0 {
		e.col--
	} else if e.row > 0 {
		e.row--
		e.col = len(e.lines[e.row])
	}
	e.goal = e.col
}

func (e *editor) right() {
	if e.col < len(e.lines[e.row]) {
		e.col++
	} else if e.row < len(e.lines)-1 {
		e.row++
		e.col = 0
	}
	e.goal = e.col
}

func (e *editor) vertical(n int) {
	e.row = min(max(e.row+n, 0), len(e.lines)-1)
	e.col = min(e.goal, len(e.lines[e.row]))
}

func (e *editor) home() { e.col, e.goal = 0, 0 }
func (e *editor) end()  { e.col = len(e.lines[e.row]); e.goal = e.col }

// wordRight moves past the current word and the spaces after it.
func (e *editor) wordRight() {
	l := e.lines[e.row]
	if e.col >= len(l) {
		e.right()
		return
	}
	for e.col < len(l) && !unicode.IsSpace(l[e.col]) {
		e.col++
	}
	for e.col < len(l) && unicode.IsSpace(l[e.col]) {
		e.col++
	}
	e.goal = e.col
}

// wordLeft moves to the start of the previous word.
func (e *editor) wordLeft() {
	if e.col == 0 {
		e.left()
		return
	}
	l := e.lines[e.row]
	for e.col > 0 && unicode.IsSpace(l[e.col-1]) {
		e.col--
	}
	for e.col > 0 && !unicode.IsSpace(l[e.col-1]) {
		e.col--
	}
	e.goal = e.col
}
