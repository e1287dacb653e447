// Package notes is the Notes app: one document per tab, edited in place.
package notes

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
)

// editor is a plain-text buffer with a cursor. Columns count runes.
//
// Edits cost what a user can see, not the size of the document (issue 8
// item 7: a 1 MB paste and a 100,000-line note stay interactive). The
// lines sit in a gap buffer whose gap follows the last line inserted or
// removed, and the line being edited is held open in a gap buffer of its
// own, so a rune typed or pasted at the cursor costs O(1) amortised, Enter
// O(1) plus the distance from the previous line edit (one memmove), and a
// paste of n bytes O(n) wherever it lands. The rendering (layout) reads
// only the lines on screen and the cursor's line.
type editor struct {
	lines gapBuf[[]rune]
	// cur holds line open while it is being edited; lines.at(open) is
	// behind it while stale.
	cur   gapBuf[rune]
	open  int // -1: no line is open
	stale bool

	row, col int
	goal     int // column that vertical moves aim for

	size  int // bytes of text(): UTF-8, with "\n" between lines
	limit int // insert refuses to grow size past it; 0: no limit

	// wrap caches the rows the last layouts cut lines into, so that a
	// key costs one line's encoding, not the screen's (most of a Notes
	// frame's CPU before). An edit of a line drops its entry; a change in
	// the number of lines drops all (indices move). It holds only lines
	// that layout visited (pruneWrap).
	wrap struct {
		width int
		rows  map[int][]string
	}
}

func newEditor(text string) *editor {
	e := &editor{open: -1, limit: tui.MaxDocumentSize}
	e.setText(text)
	return e
}

// setText replaces the whole text; the cursor is clamped into it.
func (e *editor) setText(text string) {
	all := []rune(text) // one array; each line is a capped slice of it
	ls := make([][]rune, 0, strings.Count(text, "\n")+1)
	start := 0
	for i, r := range all {
		if r == '\n' {
			ls = append(ls, all[start:i:i])
			start = i + 1
		}
	}
	ls = append(ls, all[start:len(all):len(all)])
	e.lines = gapBuf[[]rune]{buf: ls, gs: len(ls), ge: len(ls)}
	e.open, e.stale, e.cur = -1, false, gapBuf[rune]{}
	clear(e.wrap.rows)
	e.size = len(text)
	if !utf8.ValidString(text) { // invalid bytes became U+FFFD
		e.size = 0
		for _, r := range all {
			e.size += runeSize(r)
		}
	}
	e.clamp()
}

// text returns the whole text, lines joined by "\n".
func (e *editor) text() string {
	var b strings.Builder
	b.Grow(e.size)
	for i := range e.lineCount() {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, r := range e.line(i) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (e *editor) lineCount() int { return e.lines.len() }

// line returns line i; it is valid until the next edit.
func (e *editor) line(i int) []rune {
	if i == e.open && e.stale {
		e.lines.set(i, e.cur.contents())
		e.stale = false
	}
	return e.lines.at(i)
}

func (e *editor) lineLen(i int) int {
	if i == e.open {
		return e.cur.len()
	}
	return len(e.lines.at(i))
}

func (e *editor) runeAt(row, col int) rune {
	if row == e.open {
		return e.cur.at(col)
	}
	return e.lines.at(row)[col]
}

// edit opens line row for editing and returns its buffer.
func (e *editor) edit(row int) *gapBuf[rune] {
	if e.open != row {
		e.closeLine()
		e.cur = gapOver(e.lines.at(row))
		e.open = row
	}
	e.stale = true
	delete(e.wrap.rows, row)
	return &e.cur
}

// closeLine puts the open line back among the others.
func (e *editor) closeLine() {
	if e.open >= 0 {
		e.line(e.open)
		e.open, e.cur = -1, gapBuf[rune]{}
	}
}

func (e *editor) clamp() {
	e.row = min(max(e.row, 0), e.lineCount()-1)
	e.col = min(max(e.col, 0), e.lineLen(e.row))
}

// insert types s at the cursor: "\r", "\n" and "\r\n" break the line, a
// tab is four spaces, other control characters are dropped. It inserts
// nothing and reports false when the text would grow past the limit.
func (e *editor) insert(s string) bool {
	if add := insertSize(s); add > 0 && e.limit > 0 && e.size+add > e.limit {
		return false
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		switch {
		case r == '\r' || r == '\n':
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			e.newline()
		case r == '\t':
			e.insertRunes(' ', ' ', ' ', ' ')
		case printable(r):
			e.insertRunes(r)
		}
	}
	e.goal = e.col
	return true
}

// insertSize is how many bytes insert(s) adds to the text.
func insertSize(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		switch {
		case r == '\r' || r == '\n':
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			n++
		case r == '\t':
			n += 4
		case printable(r):
			n += runeSize(r)
		}
	}
	return n
}

func printable(r rune) bool { return unicode.IsPrint(r) || r > 0x7f && !unicode.IsControl(r) }

// runeSize is r's length in UTF-8 as text() writes it.
func runeSize(r rune) int {
	if n := utf8.RuneLen(r); n > 0 {
		return n
	}
	return utf8.RuneLen(utf8.RuneError)
}

func (e *editor) insertRunes(rs ...rune) {
	e.edit(e.row).insert(e.col, rs...)
	e.col += len(rs)
	for _, r := range rs {
		e.size += runeSize(r)
	}
}

// newline breaks the line at the cursor. The text after the cursor stays
// where it is in the open line's buffer and becomes the new open line, so
// Enter copies nothing of it.
func (e *editor) newline() {
	c := e.edit(e.row)
	c.moveGap(e.col)
	e.lines.set(e.row, c.buf[:c.gs:c.gs])
	c.buf, c.gs, c.ge = c.buf[c.gs:], 0, c.ge-c.gs
	e.row++
	e.col = 0
	e.lines.insert(e.row, nil)
	clear(e.wrap.rows)
	e.open = e.row
	e.size++
}

// join appends line row+1 to line row, copying the shorter of the two.
func (e *editor) join(row int) {
	a, b := e.line(row), e.line(row+1)
	e.closeLine()
	var c gapBuf[rune]
	if len(a) >= len(b) {
		c = gapOver(a)
		c.insert(len(a), b...)
	} else {
		c = gapOver(b)
		c.insert(0, a...)
	}
	e.lines.delete(row+1, row+2)
	clear(e.wrap.rows)
	e.cur, e.open, e.stale = c, row, true
	e.size--
}

func (e *editor) backspace() {
	switch {
	case e.col > 0:
		e.size -= runeSize(e.runeAt(e.row, e.col-1))
		e.edit(e.row).delete(e.col-1, e.col)
		e.col--
	case e.row > 0:
		e.col = e.lineLen(e.row - 1)
		e.join(e.row - 1)
		e.row--
	}
	e.goal = e.col
}

func (e *editor) del() {
	switch {
	case e.col < e.lineLen(e.row):
		e.size -= runeSize(e.runeAt(e.row, e.col))
		e.edit(e.row).delete(e.col, e.col+1)
	case e.row < e.lineCount()-1:
		e.join(e.row)
	}
}

func (e *editor) left() {
	if e.col > 0 {
		e.col--
	} else if e.row > 0 {
		e.row--
		e.col = e.lineLen(e.row)
	}
	e.goal = e.col
}

func (e *editor) right() {
	if e.col < e.lineLen(e.row) {
		e.col++
	} else if e.row < e.lineCount()-1 {
		e.row++
		e.col = 0
	}
	e.goal = e.col
}

func (e *editor) vertical(n int) {
	e.row = min(max(e.row+n, 0), e.lineCount()-1)
	e.col = min(e.goal, e.lineLen(e.row))
}

func (e *editor) home() { e.col, e.goal = 0, 0 }
func (e *editor) end()  { e.col = e.lineLen(e.row); e.goal = e.col }

// wordRight moves past the current word and the spaces after it.
func (e *editor) wordRight() {
	n := e.lineLen(e.row)
	if e.col >= n {
		e.right()
		return
	}
	for e.col < n && !unicode.IsSpace(e.runeAt(e.row, e.col)) {
		e.col++
	}
	for e.col < n && unicode.IsSpace(e.runeAt(e.row, e.col)) {
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
	for e.col > 0 && unicode.IsSpace(e.runeAt(e.row, e.col-1)) {
		e.col--
	}
	for e.col > 0 && !unicode.IsSpace(e.runeAt(e.row, e.col-1)) {
		e.col--
	}
	e.goal = e.col
}

// layout wraps the lines from line top down at width×height (soft wrap:
// no horizontal scroll) and scrolls so that the cursor's character is on
// screen. It returns the new top line, the cursor's cell and the visible
// rows. It reads the lines on screen and the cursor's line, however long
// the document.
func (e *editor) layout(top, width, height int) (newTop, cx, cy int, rows []string) {
	width, height = max(width, 1), max(height, 1)
	top = min(max(top, 0), e.row)
	curSub, curCol := cursorIn(e.line(e.row), e.col, width)
	// Rows between the top line and the cursor's line: walking up from the
	// cursor, the top moves down to the first line that still fits.
	before := 0
	for i := e.row - 1; i >= top; i-- {
		h := len(e.wrapped(i, width))
		if before+h+curSub >= height {
			top = i + 1
			break
		}
		before += h
	}
	curRow := before + curSub
	skip := max(curRow-height+1, 0) // one logical line taller than the screen
	cy = curRow - skip
	last := top
	for i := top; i < e.lineCount() && len(rows) < height; i++ {
		last = i
		for _, r := range e.wrapped(i, width) {
			if len(rows) == height {
				break
			}
			if skip > 0 {
				skip--
			} else {
				rows = append(rows, r)
			}
		}
	}
	e.pruneWrap(top, max(last, e.row))
	return top, curCol, cy, rows
}

// wrapped returns line i cut into rows of at most width cells (at least
// one row, "" for an empty line), from the cache while line i is unchanged.
func (e *editor) wrapped(i, width int) []string {
	if e.wrap.width != width || e.wrap.rows == nil {
		e.wrap.width = width
		if e.wrap.rows == nil {
			e.wrap.rows = make(map[int][]string)
		}
		clear(e.wrap.rows)
	}
	if rs, ok := e.wrap.rows[i]; ok {
		return rs
	}
	l := e.line(i)
	var rs []string
	for start := 0; ; {
		end := segEnd(l, start, width)
		rs = append(rs, string(l[start:end]))
		if end >= len(l) {
			break
		}
		start = end
	}
	e.wrap.rows[i] = rs
	return rs
}

// pruneWrap forgets cached lines outside [first, last] once the cache
// holds more than a few screens' worth, so it stays the size of a screen.
func (e *editor) pruneWrap(first, last int) {
	if len(e.wrap.rows) <= 2*(last-first+1)+16 {
		return
	}
	for i := range e.wrap.rows {
		if i < first || i > last {
			delete(e.wrap.rows, i)
		}
	}
}

// segEnd returns the end of the wrapped row that starts at line[start]:
// the runes that fit in width cells, and at least one.
func segEnd(line []rune, start, width int) int {
	w := 0
	for i := start; i < len(line); i++ {
		rw := runeWidth(line[i])
		if w+rw > width && i > start {
			return i
		}
		w += rw
	}
	return len(line)
}

// cursorIn returns the wrapped row and cell column of rune index col.
func cursorIn(line []rune, col, width int) (row, x int) {
	for start := 0; ; row++ {
		end := segEnd(line, start, width)
		if col < end || end >= len(line) {
			x = ansi.StringWidthWc(string(line[start:col]))
			if x >= width { // at the end of a full row: the next row's start
				return row + 1, 0
			}
			return row, x
		}
		start = end
	}
}

func runeWidth(r rune) int {
	if r >= 0x20 && r < 0x7f { // printable ASCII, most of any text
		return 1
	}
	if w := ansi.StringWidthWc(string(r)); w > 0 {
		return w
	}
	return 1
}

// insert types s at the cursor and marks the text changed. Past the
// document size cap (tui.MaxDocumentSize, SPEC §7) the whole insertion
// is refused with a notice: unsaved text never outgrows what a save can
// store, and a paste lands whole or not at all.
func (n *Notes) insert(s string) {
	if !n.ed.insert(s) {
		n.notify(fmt.Sprintf("document too large: %d KiB max", tui.MaxDocumentSize>>10))
		return
	}
	n.changed()
}

// gapBuf is a sequence with a gap of free slots where the last edit was:
// edits near the previous one cost O(1) amortised plus the distance moved.
type gapBuf[T any] struct {
	buf    []T // len(buf) is the capacity; buf[gs:ge] is the gap
	gs, ge int
}

// gapOver makes a buffer of s, taking over s's spare capacity as the gap
// (every line owns its array up to its capacity).
func gapOver[T any](s []T) gapBuf[T] {
	return gapBuf[T]{buf: s[:cap(s)], gs: len(s), ge: cap(s)}
}

func (g *gapBuf[T]) len() int { return len(g.buf) - (g.ge - g.gs) }

func (g *gapBuf[T]) index(i int) int {
	if i >= g.gs {
		return i + g.ge - g.gs
	}
	return i
}

func (g *gapBuf[T]) at(i int) T     { return g.buf[g.index(i)] }
func (g *gapBuf[T]) set(i int, v T) { g.buf[g.index(i)] = v }

// moveGap moves the gap to before element i, clearing the slots it
// leaves behind (they may hold pointers).
func (g *gapBuf[T]) moveGap(i int) {
	switch {
	case i < g.gs:
		n := g.gs - i
		copy(g.buf[g.ge-n:g.ge], g.buf[i:g.gs])
		clear(g.buf[i:min(g.gs, g.ge-n)])
		g.gs, g.ge = i, g.ge-n
	case i > g.gs:
		n := i - g.gs
		copy(g.buf[g.gs:g.gs+n], g.buf[g.ge:g.ge+n])
		clear(g.buf[max(g.ge, g.gs+n) : g.ge+n])
		g.gs, g.ge = i, g.ge+n
	}
}

// insert puts vs before element i.
func (g *gapBuf[T]) insert(i int, vs ...T) {
	g.moveGap(i)
	if g.ge-g.gs < len(vs) {
		g.grow(len(vs))
	}
	copy(g.buf[g.gs:], vs)
	g.gs += len(vs)
}

// grow makes room for n more elements, at least doubling the capacity so
// that a run of inserts costs O(1) each on average.
func (g *gapBuf[T]) grow(n int) {
	size := g.len()
	nb := make([]T, max(2*size, size+n, 16))
	tail := len(g.buf) - g.ge
	copy(nb, g.buf[:g.gs])
	copy(nb[len(nb)-tail:], g.buf[g.ge:])
	g.buf, g.ge = nb, len(nb)-tail
}

// delete removes elements [i, j).
func (g *gapBuf[T]) delete(i, j int) {
	g.moveGap(i)
	clear(g.buf[g.ge : g.ge+j-i])
	g.ge += j - i
}

// contents returns the elements as one slice (moving the gap to the end),
// valid until the next change.
func (g *gapBuf[T]) contents() []T {
	g.moveGap(g.len())
	return g.buf[:g.gs]
}
