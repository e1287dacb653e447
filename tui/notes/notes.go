package notes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Notes.
func Kind() tui.Kind {
	return tui.Kind{
		Name: "notes", Title: "Notes", Version: Version,
		New:     func(env tui.Env, docID string) tui.App { return open(env, docID) },
		Restore: restore,
	}
}

// state is the snapshot form of a Notes tab (version 1).
type state struct {
	DocID   string `json:"doc"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Version int64  `json:"version"`
	Dirty   bool   `json:"dirty"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Goal    int    `json:"goal"`
	Top     int    `json:"top"`
}

// Notes edits one document.
type Notes struct {
	env     tui.Env
	docID   string
	title   string
	version int64
	dirty   bool
	ed      *editor
	top     int
	height  int
	// conflict is set while asking what to do about a save over a newer version.
	conflict bool
}

func open(env tui.Env, docID string) *Notes {
	n := &Notes{env: env, title: "untitled", ed: newEditor("")}
	if docID == "" {
		return n
	}
	d, err := env.Docs.Get(context.Background(), docID)
	if err != nil {
		n.notify("cannot open document: " + err.Error())
		return n
	}
	n.docID, n.title, n.version = d.ID, d.Title, d.Version
	n.ed.setText(d.Body)
	return n
}

func restore(env tui.Env, version int, raw json.RawMessage) (tui.App, error) {
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	n := &Notes{env: env, docID: s.DocID, title: s.Title, version: s.Version, dirty: s.Dirty, ed: newEditor(s.Body), top: max(s.Top, 0)}
	if n.title == "" {
		n.title = "untitled"
	}
	n.ed.row, n.ed.col, n.ed.goal = s.Row, s.Col, s.Goal
	n.ed.clamp()
	return n, nil
}

// Kind implements tui.App.
func (n *Notes) Kind() string { return "notes" }

// Title implements tui.App; a trailing * marks unsaved changes.
func (n *Notes) Title() string {
	if n.dirty {
		return n.title + "*"
	}
	return n.title
}

// Documents implements tui.App.
func (n *Notes) Documents() []string {
	if n.docID == "" {
		return []string{}
	}
	return []string{n.docID}
}

// State implements tui.App.
func (n *Notes) State() (json.RawMessage, error) {
	return json.Marshal(state{DocID: n.docID, Title: n.title, Body: n.ed.text(), Version: n.version, Dirty: n.dirty,
		Row: n.ed.row, Col: n.ed.col, Goal: n.ed.goal, Top: n.top})
}

// Update implements tui.App.
func (n *Notes) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case tea.PasteMsg:
		n.ed.insert(m.Content)
		n.dirty = true
	case tea.KeyPressMsg:
		n.key(m)
	}
}

func (n *Notes) key(k tea.KeyPressMsg) {
	if n.conflict {
		n.resolve(k.String())
		return
	}
	page := max(n.height-1, 1)
	switch k.String() {
	case "ctrl+s":
		n.save()
		return
	case "left":
		n.ed.left()
	case "right":
		n.ed.right()
	case "up":
		n.ed.vertical(-1)
	case "down":
		n.ed.vertical(1)
	case "home", "ctrl+a":
		n.ed.home()
	case "end", "ctrl+e":
		n.ed.end()
	case "pgup":
		n.ed.vertical(-page)
		n.top = max(n.top-page, 0)
	case "pgdown":
		n.ed.vertical(page)
		n.top += page
	case "ctrl+left", "alt+b":
		n.ed.wordLeft()
	case "ctrl+right", "alt+f":
		n.ed.wordRight()
	case "enter":
		n.ed.insert("\n")
		n.dirty = true
	case "backspace", "ctrl+h":
		n.ed.backspace()
		n.dirty = true
	case "delete", "ctrl+d":
		n.ed.del()
		n.dirty = true
	case "tab":
		n.ed.insert("\t")
		n.dirty = true
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			n.ed.insert(k.Text)
			n.dirty = true
		}
	}
}

func (n *Notes) save() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := n.ed.text()
	var d tui.Doc
	var err error
	if n.docID == "" {
		d, err = n.env.Docs.Create(ctx, n.title, body)
	} else {
		d, err = n.env.Docs.Save(ctx, tui.Doc{ID: n.docID, Title: n.title, Body: body, Version: n.version})
	}
	switch {
	case errors.Is(err, tui.ErrConflict):
		n.conflict = true
		n.notify("not saved: " + n.title + " changed elsewhere")
		return
	case err != nil:
		n.notify("not saved: " + err.Error())
		return
	}
	n.docID, n.version, n.dirty = d.ID, d.Version, false
	n.notify(fmt.Sprintf("saved %s", n.title))
}

// resolve answers the conflict question: reload, overwrite or save a copy.
func (n *Notes) resolve(answer string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch answer {
	case "r":
		d, err := n.env.Docs.Get(ctx, n.docID)
		if err != nil {
			n.notify("reload failed: " + err.Error())
			return
		}
		n.title, n.version, n.dirty = d.Title, d.Version, false
		row, col := n.ed.row, n.ed.col
		n.ed.setText(d.Body)
		n.ed.row, n.ed.col = row, col
		n.ed.clamp()
		n.notify("reloaded " + n.title)
	case "o":
		d, err := n.env.Docs.Get(ctx, n.docID)
		if err != nil {
			n.notify("overwrite failed: " + err.Error())
			return
		}
		n.version = d.Version
		n.conflict = false
		n.save()
		return
	case "s":
		d, err := n.env.Docs.Create(ctx, n.title+" (copy)", n.ed.text())
		if err != nil {
			n.notify("save as failed: " + err.Error())
			return
		}
		n.docID, n.title, n.version, n.dirty = d.ID, d.Title, d.Version, false
		n.notify("saved as " + n.title)
	case "esc", "ctrl+c":
	default:
		return
	}
	n.conflict = false
}

func (n *Notes) notify(msg string) {
	if n.env.Notify != nil {
		n.env.Notify(msg)
	}
}

// View implements tui.App. Long lines wrap at the width (soft wrap), so a
// resize reflows the text; the view scrolls to keep the cursor's character
// on screen.
func (n *Notes) View(width, height int) (string, *tui.Cursor) {
	textH := height
	if n.conflict {
		textH = max(height-1, 1)
	}
	n.height = textH
	cx, cy, rows := n.layout(width, textH)
	out := strings.Join(rows, "\n")
	if n.conflict {
		out += "\n" + ansi.TruncateWc("changed elsewhere: r reload · o overwrite · s save a copy · esc cancel", width, "")
	}
	return out, &tui.Cursor{X: cx, Y: cy}
}

// layout wraps the lines from the top line down and returns the visible
// rows and the cursor's cell.
func (n *Notes) layout(width, height int) (cx, cy int, rows []string) {
	n.top = min(max(n.top, 0), n.ed.row)
	curRow, curCol, curSub := 0, 0, 0
	for {
		// Rows between the top line and the cursor's line.
		before := 0
		for i := n.top; i < n.ed.row; i++ {
			before += len(wrap(n.ed.lines[i], width))
		}
		curSub, curCol = cursorIn(n.ed.lines[n.ed.row], n.ed.col, width)
		curRow = before + curSub
		if curRow < height || n.top == n.ed.row {
			break
		}
		n.top++
	}
	skip := max(curRow-height+1, 0) // one logical line taller than the screen
	for i := n.top; i < len(n.ed.lines) && len(rows) < height+skip; i++ {
		for _, seg := range wrap(n.ed.lines[i], width) {
			rows = append(rows, string(seg))
		}
	}
	rows = rows[min(skip, len(rows)):]
	if len(rows) > height {
		rows = rows[:height]
	}
	return curCol, curRow - skip, rows
}

// wrap splits a line into segments of at most width cells.
func wrap(line []rune, width int) [][]rune {
	if len(line) == 0 {
		return [][]rune{nil}
	}
	var segs [][]rune
	start, w := 0, 0
	for i, r := range line {
		rw := runeWidth(r)
		if w+rw > width && i > start {
			segs = append(segs, line[start:i])
			start, w = i, 0
		}
		w += rw
	}
	return append(segs, line[start:])
}

// cursorIn returns the wrapped row and cell column of rune index col.
func cursorIn(line []rune, col, width int) (row, x int) {
	segs := wrap(line, width)
	pos := 0
	for i, seg := range segs {
		if col < pos+len(seg) || i == len(segs)-1 {
			x = ansi.StringWidthWc(string(seg[:col-pos]))
			if x >= width { // at the end of a full row: the next row's start
				return i + 1, 0
			}
			return i, x
		}
		pos += len(seg)
	}
	return 0, 0
}

func runeWidth(r rune) int {
	if w := ansi.StringWidthWc(string(r)); w > 0 {
		return w
	}
	return 1
}
