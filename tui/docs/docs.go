// Package docs is the Documents app: list, create, rename, delete, and open
// a document in a Notes tab.
package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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

// Docs lists the user's documents.
type Docs struct {
	env    tui.Env
	list   []tui.Doc
	sel    int
	top    int
	prompt tui.Prompt
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

// SetFocused implements tui.Focuser: the list is fresh whenever shown.
func (d *Docs) SetFocused(f bool) {
	if f {
		d.reload()
	}
}

func (d *Docs) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

func (d *Docs) reload() {
	if d.env.Docs == nil {
		return
	}
	ctx, cancel := d.ctx()
	defer cancel()
	list, err := d.env.Docs.List(ctx)
	if err != nil {
		d.notify("cannot list documents: " + err.Error())
		return
	}
	d.list = list
	d.sel = min(d.sel, max(len(d.list)-1, 0))
}

func (d *Docs) notify(msg string) {
	if d.env.Notify != nil {
		d.env.Notify(msg)
	}
}

// Update implements tui.App.
func (d *Docs) Update(msg tea.Msg) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return
	}
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

func (d *Docs) answer() {
	ctx, cancel := d.ctx()
	defer cancel()
	text := d.prompt.Text()
	cur, _ := d.current()
	var err error
	switch d.prompt.Tag {
	case "new":
		if text == "" {
			return
		}
		var doc tui.Doc
		if doc, err = d.env.Docs.Create(ctx, text, ""); err == nil {
			d.env.Open("notes", doc.ID)
		}
	case "rename":
		if text == "" || cur.ID == "" {
			return
		}
		cur.Title = text
		_, err = d.env.Docs.Save(ctx, cur)
		if errors.Is(err, tui.ErrConflict) {
			err = errors.New("it changed meanwhile; try again")
		}
	case "delete":
		if text != "yes" || cur.ID == "" {
			return
		}
		err = d.env.Docs.Delete(ctx, cur.ID)
	}
	if err != nil {
		d.notify(d.prompt.Tag + " failed: " + err.Error())
	}
	d.reload()
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
	if len(d.list) == 0 {
		lines = append(lines, "No documents yet. n: new")
	}
	for i := d.top; i < len(d.list) && i < d.top+listH; i++ {
		doc := d.list[i]
		line := fmt.Sprintf("%-30s v%d", doc.Title, doc.Version)
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
