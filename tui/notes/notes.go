package notes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	// Loading is set while the document is being read: a restore reads it
	// again. A restored tab otherwise has its text and reads nothing, so
	// unsaved text is never overwritten.
	Loading bool `json:"loading,omitempty"`
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

	// loading is set while docID is being read (keys are refused meanwhile).
	loading bool
	// saving is set while a write is in flight; saveAgain asks for another
	// once it is done (ctrl+s pressed meanwhile).
	saving, saveAgain bool
	// edits counts changes to the text; a save result clears dirty only if
	// nothing changed since the save was issued.
	edits uint64
	// orphaned is set when the document was deleted under the tab: the
	// next save creates a new one and says so.
	orphaned bool
}

// Results of store commands (tui.Env.Go); the workspace hands each to the
// tab that issued it.
type (
	loadedMsg struct {
		doc    tui.Doc
		err    error
		reload bool // an answer to a conflict: keep the cursor
	}
	savedMsg struct {
		doc   tui.Doc
		err   error
		edits uint64 // n.edits when the save was issued
		copy  bool   // "save a copy": the tab now edits the copy
	}
)

// open makes a tab; with a docID it reads the document off the session's
// lock and shows "loading…" until it arrives.
func open(env tui.Env, docID string) *Notes {
	n := &Notes{env: env, title: "untitled", ed: newEditor("")}
	if docID != "" {
		n.docID = docID
		n.load(false)
	}
	return n
}

// load reads docID (reload: keep the cursor, as an answer to a conflict).
func (n *Notes) load(reload bool) {
	id, docs := n.docID, n.env.Docs
	n.loading = true
	if docs == nil || !n.env.Go(func(ctx context.Context) tea.Msg {
		d, err := docs.Get(ctx, id)
		return loadedMsg{doc: d, err: err, reload: reload}
	}) {
		n.loaded(loadedMsg{err: errors.New("no document store"), reload: reload})
	}
}

func (n *Notes) loaded(m loadedMsg) {
	n.loading = false
	switch {
	case m.err != nil && m.reload:
		n.notify("reload failed: " + m.err.Error())
	case m.err != nil:
		n.docID = "" // as a new document: ctrl+s creates one
		n.notify("cannot open document: " + m.err.Error())
	default:
		row, col := n.ed.row, n.ed.col
		n.docID, n.title, n.version, n.dirty = m.doc.ID, m.doc.Title, m.doc.Version, false
		n.ed.setText(m.doc.Body)
		if m.reload {
			n.ed.row, n.ed.col = row, col
			n.ed.clamp()
			n.notify("reloaded " + n.title)
		}
	}
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
	if s.Loading && s.DocID != "" {
		n.load(false)
	}
	return n, nil
}

// Kind implements tui.App.
func (n *Notes) Kind() string { return "notes" }

// Unsaved implements tui.Unsaver: the text has changes not yet saved.
func (n *Notes) Unsaved() bool { return n.dirty }

// Title implements tui.App; a trailing * marks unsaved changes.
func (n *Notes) Title() string {
	if n.loading && n.version == 0 {
		return "loading…"
	}
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
		Row: n.ed.row, Col: n.ed.col, Goal: n.ed.goal, Top: n.top, Loading: n.loading})
}

// Update implements tui.App.
func (n *Notes) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case loadedMsg:
		n.loaded(m)
	case savedMsg:
		n.saved(m)
	case tui.DocRenamed:
		if m.ID == n.docID && m.ID != "" {
			n.title = m.Title
			if n.version == m.From {
				n.version = m.Version // the rename is no change to the text
			}
		}
	case tui.DocDeleted:
		if m.ID == n.docID && m.ID != "" {
			n.orphan()
			n.notify(n.title + " was deleted: ctrl+s saves this text as a new document")
		}
	case tea.PasteMsg:
		if n.refuseWhileLoading() {
			return
		}
		n.insert(m.Content)
	case tea.KeyPressMsg:
		n.key(m)
	}
}

// refuseWhileLoading drops input that arrives before the document's text:
// the text would replace it.
func (n *Notes) refuseWhileLoading() bool {
	if n.loading {
		n.notify("still loading the document")
	}
	return n.loading
}

func (n *Notes) key(k tea.KeyPressMsg) {
	if n.refuseWhileLoading() {
		return
	}
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
		n.insert("\n")
	case "backspace", "ctrl+h":
		n.ed.backspace()
		n.changed()
	case "delete", "ctrl+d":
		n.ed.del()
		n.changed()
	case "tab":
		n.insert("\t")
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			n.insert(k.Text)
		}
	}
}

// save writes the text off the session's lock; "saved TITLE" shows only
// once the store has it (SPEC §5: an explicit save is durable when
// acknowledged on screen). One write at a time: ctrl+s meanwhile saves
// again after it, so a new document is never created twice.
func (n *Notes) save() {
	if n.saving {
		n.saveAgain = true
		return
	}
	docs := n.env.Docs
	req := tui.Doc{ID: n.docID, Title: n.title, Body: n.ed.text(), Version: n.version}
	edits := n.edits
	n.write(func(ctx context.Context) tea.Msg {
		var d tui.Doc
		var err error
		if req.ID == "" {
			d, err = docs.Create(ctx, req.Title, req.Body)
		} else {
			d, err = docs.Save(ctx, req)
		}
		return savedMsg{doc: d, err: err, edits: edits}
	})
}

// write runs a store write and marks the tab saving until its savedMsg.
func (n *Notes) write(f func(ctx context.Context) tea.Msg) {
	if n.env.Docs == nil || !n.env.Go(f) {
		n.notify("not saved: no document store")
		return
	}
	n.saving = true
}

func (n *Notes) saved(m savedMsg) {
	n.saving = false
	again := n.saveAgain
	n.saveAgain = false
	switch {
	case errors.Is(m.err, tui.ErrNotFound) && n.docID != "":
		n.orphan()
		n.notify("not saved: " + n.title + " was deleted; ctrl+s saves it as a new document")
		return
	case errors.Is(m.err, tui.ErrConflict):
		n.conflict = true
		n.notify("not saved: " + n.title + " changed elsewhere")
		return
	case m.err != nil:
		n.notify("not saved: " + m.err.Error())
		return
	}
	n.docID, n.version = m.doc.ID, m.doc.Version
	n.dirty = n.edits != m.edits
	if n.orphaned {
		n.orphaned = false
		n.notify("saved as new document " + n.title)
	} else if m.copy {
		n.title = m.doc.Title
		n.notify("saved as " + n.title)
	} else {
		n.notify(fmt.Sprintf("saved %s", n.title))
	}
	if again {
		n.save()
	}
}

// resolve answers the conflict question: reload, overwrite or save a copy.
func (n *Notes) resolve(answer string) {
	docs := n.env.Docs
	switch answer {
	case "r":
		n.load(true)
	case "o":
		req := tui.Doc{ID: n.docID, Title: n.title, Body: n.ed.text()}
		edits := n.edits
		n.write(func(ctx context.Context) tea.Msg {
			cur, err := docs.Get(ctx, req.ID)
			if err != nil {
				return savedMsg{err: fmt.Errorf("overwrite failed: %w", err), edits: edits}
			}
			req.Version = cur.Version
			d, err := docs.Save(ctx, req)
			return savedMsg{doc: d, err: err, edits: edits}
		})
	case "s":
		title, body, edits := n.title+" (copy)", n.ed.text(), n.edits
		n.write(func(ctx context.Context) tea.Msg {
			d, err := docs.Create(ctx, title, body)
			if err != nil {
				err = fmt.Errorf("save as failed: %w", err)
			}
			return savedMsg{doc: d, err: err, edits: edits, copy: true}
		})
	case "esc", "ctrl+c":
	default:
		return
	}
	n.conflict = false
}

// orphan detaches the tab from its deleted document: the text stays,
// marked unsaved, and the next save creates a new document.
func (n *Notes) orphan() {
	n.docID, n.version, n.conflict, n.orphaned = "", 0, false, true
	n.changed()
}

// changed marks the text modified since the last save.
func (n *Notes) changed() {
	n.dirty = true
	n.edits++
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
	if n.loading && n.version == 0 {
		return "loading…", nil
	}
	cx, cy, rows := n.layout(width, textH)
	out := strings.Join(rows, "\n")
	if n.conflict {
		out += "\n" + ansi.TruncateWc("changed elsewhere: r reload · o overwrite · s save a copy · esc cancel", width, "")
	}
	return out, &tui.Cursor{X: cx, Y: cy}
}

// layout wraps the text into rows and places the cursor (editor.layout).
func (n *Notes) layout(width, height int) (cx, cy int, rows []string) {
	n.top, cx, cy, rows = n.ed.layout(n.top, width, height)
	return cx, cy, rows
}
