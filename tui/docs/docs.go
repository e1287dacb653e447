// Package docs is the Documents app: list, create, rename, delete, and open
// a document in a Notes tab.
package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Documents.
func Kind() tui.Kind {
	return tui.Kind{Name: "documents", Title: "Documents", Version: Version,
		New: func(env tui.Env, _ string) tui.App { d := &Docs{env: env}; d.reload(); return d },
		Restore: func(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			var s state
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			d := &Docs{env: env, sel: max(s.Sel, 0), top: max(s.Top, 0)}
			d.prompt.SetState(s.Prompt)
			d.reload()
			return d, nil
		},
	}
}

type state struct {
	Sel    int             `json:"sel"`
	Top    int             `json:"top"`
	Prompt tui.PromptState `json:"prompt"`
}

// Results of store commands (tui.Env.Go), handed back to the tab that ran them.
type (
	listMsg struct {
		list []tui.Doc
		err  error
	}
	// doneMsg is a create, rename or delete, and the list read after it.
	doneMsg struct {
		tag  string
		doc  tui.Doc
		err  error
		list listMsg
	}
)

// Docs lists the user's documents. The list is read off the session's lock
// when the tab is made and whenever it is shown; one read and one change
// at a time, so holding a key down does not pile up store calls.
type Docs struct {
	env    tui.Env
	list   []tui.Doc
	sel    int
	top    int
	prompt tui.Prompt

	loaded  bool // the list arrived at least once
	loading bool // a list read is in flight
	again   bool // read again when it lands (asked meanwhile)
	busy    bool // a change is in flight
	focused bool
}

// Kind implements tui.App.
func (d *Docs) Kind() string { return "documents" }

// Title implements tui.App.
func (d *Docs) Title() string { return "documents" }

// Documents implements tui.App: the list itself opens none.
func (d *Docs) Documents() []string { return []string{} }

// State implements tui.App.
func (d *Docs) State() (json.RawMessage, error) {
	return json.Marshal(state{Sel: d.sel, Top: d.top, Prompt: d.prompt.State()})
}

// SetFocused implements tui.Focuser: the list is read again whenever the
// tab comes into view.
func (d *Docs) SetFocused(f bool) {
	if f && !d.focused {
		d.reload()
	}
	d.focused = f
}

// reload reads the list off the session's lock.
func (d *Docs) reload() {
	if d.loading {
		d.again = true
		return
	}
	docs := d.env.Docs
	if docs == nil {
		return
	}
	d.loading = d.env.Go(func(ctx context.Context) tea.Msg { return list(ctx, docs) })
}

func list(ctx context.Context, docs tui.Docs) listMsg {
	l, err := docs.List(ctx)
	return listMsg{list: l, err: err}
}

func (d *Docs) listed(m listMsg) {
	d.loading = false
	if m.err != nil {
		d.notify("cannot list documents: " + m.err.Error())
	} else {
		d.list, d.loaded = m.list, true
		d.sel = min(d.sel, max(len(d.list)-1, 0))
	}
	if d.again {
		d.again = false
		d.reload()
	}
}

func (d *Docs) notify(msg string) {
	if d.env.Notify != nil {
		d.env.Notify(msg)
	}
}

// Update implements tui.App.
func (d *Docs) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case listMsg:
		d.listed(m)
	case doneMsg:
		d.done(m)
	case tea.KeyPressMsg:
		d.key(m)
	}
}

// Unsaved implements tui.Unsaver: an open new or rename prompt holding
// typed text (other than the unchanged title) would be lost by closing
// the tab. A delete prompt's "yes" is not text worth keeping.
func (d *Docs) Unsaved() bool {
	if !d.prompt.Active || d.prompt.Text() == "" {
		return false
	}
	switch d.prompt.Tag {
	case "new":
		return true
	case "rename":
		cur, _ := d.current()
		return d.prompt.Text() != cur.Title
	}
	return false
}

func (d *Docs) key(k tea.KeyPressMsg) {
	if d.prompt.Active {
		if d.prompt.Update(k) == tui.PromptDone {
			d.answer()
		}
		return
	}
	switch k.String() {
	case "up", "k":
		d.sel = max(d.sel-1, 0)
	case "down", "j":
		d.sel = min(d.sel+1, max(len(d.list)-1, 0))
	case "enter":
		if cur, ok := d.current(); ok && d.env.Open != nil {
			d.env.Open("notes", cur.ID)
		}
	case "n":
		d.prompt.Start("new", "New document title: ", "")
	case "r":
		if cur, ok := d.current(); ok {
			d.prompt.Start("rename", "Rename to: ", cur.Title)
		}
	case "D", "delete":
		if cur, ok := d.current(); ok {
			d.prompt.Start("delete", fmt.Sprintf("Delete %q? type yes: ", cur.Title), "")
		}
	case "R":
		d.reload()
	}
}

func (d *Docs) current() (tui.Doc, bool) {
	if d.sel < 0 || d.sel >= len(d.list) {
		return tui.Doc{}, false
	}
	return d.list[d.sel], true
}

// answer carries out the prompt's create, rename or delete off the
// session's lock, then reads the list again in the same command.
func (d *Docs) answer() {
	text, tag := d.prompt.Text(), d.prompt.Tag
	cur, _ := d.current()
	var op func(ctx context.Context, docs tui.Docs) (tui.Doc, error)
	switch tag {
	case "new":
		if text == "" {
			return
		}
		op = func(ctx context.Context, docs tui.Docs) (tui.Doc, error) { return docs.Create(ctx, text, "") }
	case "rename":
		if text == "" || cur.ID == "" {
			return
		}
		cur.Title = text
		op = func(ctx context.Context, docs tui.Docs) (tui.Doc, error) {
			doc, err := docs.Save(ctx, cur)
			if errors.Is(err, tui.ErrConflict) {
				err = errors.New("it changed meanwhile; try again")
			}
			return doc, err
		}
	case "delete":
		if text != "yes" || cur.ID == "" {
			return
		}
		op = func(ctx context.Context, docs tui.Docs) (tui.Doc, error) { return cur, docs.Delete(ctx, cur.ID) }
	default:
		return
	}
	docs := d.env.Docs
	switch {
	case d.busy:
		d.notify(tag + " not done: the last change is still being saved")
		return
	case docs == nil:
		d.notify(tag + " failed: no document store")
		return
	}
	d.busy = d.env.Go(func(ctx context.Context) tea.Msg {
		doc, err := op(ctx, docs)
		return doneMsg{tag: tag, doc: doc, err: err, list: list(ctx, docs)}
	})
}

func (d *Docs) done(m doneMsg) {
	d.busy = false
	if !d.loading {
		d.listed(m.list)
	}
	switch {
	case m.err != nil:
		d.notify(m.tag + " failed: " + m.err.Error())
	case m.tag == "new" && d.env.Open != nil:
		d.env.Open("notes", m.doc.ID)
	case m.tag == "rename":
		d.broadcast(tui.DocRenamed{ID: m.doc.ID, Title: m.doc.Title, From: m.doc.Version - 1, Version: m.doc.Version})
	case m.tag == "delete":
		d.broadcast(tui.DocDeleted{ID: m.doc.ID, Title: m.doc.Title})
	}
}

// broadcast tells open tabs (here and in the user's other sessions) that a
// document changed under them.
func (d *Docs) broadcast(msg tea.Msg) {
	if d.env.Broadcast != nil {
		d.env.Broadcast(msg)
	}
}

var selStyle = lipgloss.NewStyle().Reverse(true)

// View implements tui.App.
func (d *Docs) View(width, height int) (string, *tui.Cursor) {
	listH := max(height-2, 1)
	if d.sel < d.top {
		d.top = d.sel
	}
	if d.sel >= d.top+listH {
		d.top = d.sel - listH + 1
	}
	lines := make([]string, 0, height)
	switch {
	case !d.loaded && d.loading:
		lines = append(lines, "loading…")
	case len(d.list) == 0:
		lines = append(lines, "No documents yet. n: new")
	}
	for i := d.top; i < len(d.list) && i < d.top+listH; i++ {
		doc := d.list[i]
		line := fmt.Sprintf("%s v%d", tui.Pad(tui.Printable(doc.Title), 30), doc.Version)
		if i == d.sel {
			line = selStyle.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < height-1 {
		lines = append(lines, "")
	}
	if d.prompt.Active {
		line, x := d.prompt.View(width)
		return strings.Join(append(lines, line), "\n"), &tui.Cursor{X: x, Y: height - 1}
	}
	return strings.Join(append(lines, "enter open · n new · r rename · D delete"), "\n"), nil
}
