package sessions

import (
	"hash/maphash"
	"strings"
	"time"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// A client's frames are drawn into a screen buffer that the renderer
// diffs against what the terminal shows. Drawing a whole frame (parsing
// every styled line into cells) and offering every row to the renderer
// was half the CPU of a key's echo (BENCHMARKS "Web terminal"); a typed key
// changes a row or two. So while a session is typed in, each client keeps
// its last frame's screen and the next frame redraws and offers only the
// rows whose text changed. A screen costs about 112 bytes a cell (215 KB at
// 80×24), so it is kept only while the session had input in the last
// HotScreenIdle (an attach alone does not count; the sweep releases it
// after) and only up to
// maxPooledCells; other frames borrow a scratch screen and draw it whole,
// as every frame did before.

// HotScreenIdle is how long after a session's last input its clients keep
// their screens.
const HotScreenIdle = 30 * time.Second

// scrollMinLines is the fewest changed rows in which the renderer's hard
// scroll can save bytes: it moves hunks of at least three lines.
const scrollMinLines = 3

// lineSeed keys the row hashes.
var lineSeed = maphash.MakeSeed()

// lineState is what one row of a kept screen was drawn from: the hash of
// its text and whether the pen entering it may differ from the default.
type lineState struct {
	hash    uint64
	carryIn pen
}

// pen is what a row leaves set for the next one, as far as a cheap scan
// can tell: printString carries the style and link from row to row, so a
// row can be drawn alone only when nothing is carried into it.
type pen uint8

const (
	penDefault pen = iota // nothing set, or an SGR reset last
	penStyled             // an SGR or other sequence not known to reset
	penSticky             // an OSC (a hyperlink): an SGR reset does not end it
)

// penAfter returns the pen after line, entering with in.
func penAfter(line string, in pen) pen {
	p := in
	for {
		i := strings.IndexByte(line, 0x1b)
		if i < 0 {
			return p
		}
		rest := line[i:]
		switch {
		case p == penSticky:
			return p
		case strings.HasPrefix(rest, "\x1b[m"):
			p, line = penDefault, rest[3:]
		case strings.HasPrefix(rest, "\x1b[0m"):
			p, line = penDefault, rest[4:]
		case strings.HasPrefix(rest, "\x1b]"):
			return penSticky
		default:
			p, line = penStyled, rest[1:]
		}
	}
}

// drawScreen draws content (rows separated by "\n") at w×h into the
// client's kept screen, redrawing only rows that changed, or into a
// borrowed one drawn whole; it returns the screen, with the rows to offer
// the renderer touched, and how many rows changed.
func (c *Client) drawScreen(content string, w, h int) (uv.ScreenBuffer, int) {
	kept := c.screen.RenderBuffer != nil && c.screen.Width() == w && c.screen.Height() == h && len(c.lines) == h
	if !kept {
		c.releaseScreen()
		if cap(c.lines) < h {
			c.lines = make([]lineState, h)
		}
		c.lines = c.lines[:h]
	}
	whole := !kept
	c.dirty = c.dirty[:0]
	zeroLead := false
	rest, carry := content, penDefault
	for y := range h {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		st := lineState{hash: maphash.String(lineSeed, line), carryIn: carry}
		if whole || c.lines[y] != st {
			c.dirty = append(c.dirty, y)
			// A row drawn alone starts with the default pen; one that
			// would not, or holds a CR (Draw rewrites CR LF), makes
			// the frame drawn whole.
			if carry != penDefault || strings.IndexByte(line, '\r') >= 0 {
				whole = true
			}
		}
		c.lines[y] = st
		carry = penAfter(line, carry)
		zeroLead = zeroLead || leadsZeroWidth(line)
	}
	// A row that starts with a zero-width character (a combining accent,
	// a joiner, a variation selector) has it folded into the last cell
	// drawn before it, rows above included; while this or the last frame
	// has one, rows are not drawn alone.
	if zeroLead || c.zeroLead {
		whole = true
	}
	c.zeroLead = zeroLead
	if whole {
		screen := c.screen
		if !kept {
			screen = borrowScreen(w, h)
		}
		uv.NewStyledString(content).Draw(screen, screen.Bounds())
		// Its change tracking is not what this terminal shows: every
		// row is offered to the renderer, which diffs it.
		for y := range h {
			screen.TouchLine(0, y, w)
		}
		return screen, len(c.dirty)
	}
	screen := c.screen
	for _, y := range c.dirty {
		uv.NewStyledString(row(content, y)).Draw(screen, uv.Rect(0, y, w, 1))
		screen.TouchLine(0, y, w)
	}
	return screen, len(c.dirty)
}

// leadsZeroWidth reports whether the first character of line, after any
// escape sequences, takes no cell (wcwidth 0, as the renderer counts).
func leadsZeroWidth(line string) bool {
	for strings.HasPrefix(line, "\x1b") {
		i := strings.IndexFunc(line[1:], func(r rune) bool { return r >= 0x40 && r <= 0x7e && r != '[' })
		if i < 0 {
			return false
		}
		line = line[i+2:]
	}
	if line == "" || line[0] < 0x80 {
		return false
	}
	r, n := utf8.DecodeRuneInString(line)
	return ansi.StringWidthWc(line[:n]) == 0 && r != utf8.RuneError
}

// row returns row y of content ("" past its end).
func row(content string, y int) string {
	for ; y > 0; y-- {
		i := strings.IndexByte(content, '\n')
		if i < 0 {
			return ""
		}
		content = content[i+1:]
	}
	if i := strings.IndexByte(content, '\n'); i >= 0 {
		return content[:i]
	}
	return content
}

// keepScreen keeps the screen just rendered when hot and small enough to
// pool, and gives it back otherwise.
func (c *Client) keepScreen(screen uv.ScreenBuffer, hot bool) {
	if hot && screen.Width()*screen.Height() <= maxPooledCells {
		c.screen = screen
		return
	}
	if c.screen.RenderBuffer == screen.RenderBuffer {
		c.screen = uv.ScreenBuffer{}
	}
	c.lines = c.lines[:0]
	returnScreen(screen)
}

// releaseScreen gives back a kept screen; the next frame is drawn whole.
func (c *Client) releaseScreen() {
	if c.screen.RenderBuffer != nil {
		returnScreen(c.screen)
		c.screen = uv.ScreenBuffer{}
	}
	c.lines = c.lines[:0]
	c.zeroLead = false
}
