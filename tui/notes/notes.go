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
		n.notify("not saved: " + n.title + " changed elsewhere")
		return
	case err != nil:
		n.notify("not saved: " + err.Error())
		return
	}
	n.docID, n.version, n.dirty = d.ID, d.Version, false
	n.notify(fmt.Sprintf("saved %s", n.title))
}

func (n *Notes) notify(msg string) {
	if n.env.Notify != nil {
		n.env.Notify(msg)
	}
}

// View implements tui.App: no soft wrap; the view scrolls to keep the cursor.
func (n *Notes) View(width, height int) (string, *tui.Cursor) {
	n.height = height
	if n.ed.row < n.top {
		n.top = n.ed.row
	}
	if n.ed.row >= n.top+height {
		n.top = n.ed.row - height + 1
	}
	n.top = min(n.top, max(len(n.ed.lines)-1, 0))
	line := n.ed.lines[n.ed.row]
	curX := ansi.StringWidthWc(string(line[:n.ed.col]))
	left := max(curX-width+1, 0)
	var b strings.Builder
	for y := 0; y < height; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		i := n.top + y
		if i >= len(n.ed.lines) {
			continue
		}
		s := string(n.ed.lines[i])
		if left > 0 {
			s = ansi.TruncateLeftWc(s, left, "")
		}
		b.WriteString(ansi.TruncateWc(s, width, ""))
	}
	return b.String(), &tui.Cursor{X: curX - left, Y: n.ed.row - n.top}
}
