// Package adminapp is the Admin app (admins only): a live table of every
// session with detach, kill and message. Actions run through Env.Run, away
// from the session's lock, and are audited by the Ops implementation.
package adminapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Admin.
func Kind() tui.Kind {
	return tui.Kind{Name: "admin", Title: "Admin: sessions", Version: Version, AdminOnly: true,
		New: func(env tui.Env, _ string) tui.App { return &Admin{env: env} },
		Restore: func(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			var s state
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			a := &Admin{env: env, sel: max(s.Sel, 0)}
			a.prompt.SetState(s.Prompt)
			return a, nil
		},
	}
}

type state struct {
	Sel    int             `json:"sel"`
	Prompt tui.PromptState `json:"prompt"`
}

type rowsMsg struct {
	to   *Admin
	rows []tui.SessionRow
	err  error
}

type doneMsg struct {
	to  *Admin
	msg string
}

// Admin is the session table.
type Admin struct {
	env     tui.Env
	rows    []tui.SessionRow
	err     error
	sel     int
	top     int
	focused bool
	prompt  tui.Prompt
	status  string
	// fetching is set while a table read is in flight; again asks for
	// another when it lands (sessions changed meanwhile).
	fetching, again bool
}

// Kind implements tui.App.
func (a *Admin) Kind() string { return "admin" }

// Title implements tui.App.
func (a *Admin) Title() string { return "admin" }

// Documents implements tui.App.
func (a *Admin) Documents() []string { return []string{} }

// State implements tui.App.
func (a *Admin) State() (json.RawMessage, error) {
	return json.Marshal(state{Sel: a.sel, Prompt: a.prompt.State()})
}

// SetFocused implements tui.Focuser.
func (a *Admin) SetFocused(f bool) {
	if f && !a.focused {
		a.refresh()
	}
	a.focused = f
}

// opTimeout bounds an admin action: longer than tui.StoreTimeout, as
// ending a session writes its last workspace and history.
const opTimeout = 10 * time.Second

// run runs f off the session's lock and reports whether it was started.
func (a *Admin) run(f func(ctx context.Context, ops tui.Ops) tea.Msg) bool {
	if a.env.Ops == nil || a.env.Run == nil {
		a.err = fmt.Errorf("admins only")
		return false
	}
	ops := a.env.Ops
	a.env.Run(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		return f(ctx, ops)
	})
	return true
}

// refresh reads the table, one request at a time.
func (a *Admin) refresh() {
	if a.fetching {
		a.again = true
		return
	}
	a.fetching = a.run(func(ctx context.Context, ops tui.Ops) tea.Msg {
		rows, err := ops.Sessions(ctx)
		return rowsMsg{to: a, rows: rows, err: err}
	})
}

func (a *Admin) act(verb, id, text string) {
	a.run(func(ctx context.Context, ops tui.Ops) tea.Msg {
		var err error
		switch verb {
		case "detach":
			err = ops.Detach(ctx, id)
		case "kill":
			err = ops.Kill(ctx, id)
		case "message":
			err = ops.Message(ctx, id, text)
		}
		if err != nil {
			return doneMsg{to: a, msg: verb + " failed: " + err.Error()}
		}
		return doneMsg{to: a, msg: verb + " done"}
	})
}

// Update implements tui.App.
func (a *Admin) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case rowsMsg:
		if m.to == a {
			a.rows, a.err, a.fetching = m.rows, m.err, false
			a.sel = min(a.sel, max(len(a.rows)-1, 0))
			if a.again {
				a.again = false
				a.refresh()
			}
		}
	case tui.SessionsChanged:
		if a.focused { // the table follows changes while shown (issue 9)
			a.refresh()
		}
	case doneMsg:
		if m.to == a {
			a.status = m.msg
			a.refresh()
		}
	case tea.KeyPressMsg:
		a.key(m)
	}
}

func (a *Admin) key(k tea.KeyPressMsg) {
	if a.prompt.Active {
		if a.prompt.Update(k) == tui.PromptDone {
			a.answer()
		}
		return
	}
	cur, ok := a.current()
	switch k.String() {
	case "up", "k":
		a.sel = max(a.sel-1, 0)
	case "down", "j":
		a.sel = min(a.sel+1, max(len(a.rows)-1, 0))
	case "r":
		a.refresh()
	case "d":
		if ok {
			a.act("detach", cur.ID, "")
		}
	case "K":
		if ok {
			a.prompt.Start("kill", fmt.Sprintf("Kill %s of %s? type yes: ", cur.Name, cur.User), "")
		}
	case "m":
		if ok {
			a.prompt.Start("message", fmt.Sprintf("Message to %s: ", cur.User), "")
		}
	}
}

func (a *Admin) current() (tui.SessionRow, bool) {
	if a.sel < 0 || a.sel >= len(a.rows) {
		return tui.SessionRow{}, false
	}
	return a.rows[a.sel], true
}

func (a *Admin) answer() {
	cur, ok := a.current()
	if !ok {
		return
	}
	switch text := a.prompt.Text(); a.prompt.Tag {
	case "kill":
		if text == "yes" {
			a.act("kill", cur.ID, "")
		}
	case "message":
		if text != "" {
			a.act("message", cur.ID, text)
		}
	}
}

var selStyle = lipgloss.NewStyle().Reverse(true)

// adminRow lays out one line of the sessions table in fixed columns of
// terminal cells (tui.Cell: a wide CJK name counts 2 a character, a longer
// one is cut with "…"), so no name shifts the columns after it (issue 9).
func adminRow(id, user, name, state, clients, idle, apps string) string {
	return tui.Cell(id, 8) + " " + tui.Cell(user, 12) + " " + tui.Cell(name, 16) + " " + tui.Cell(state, 10) + " " +
		fmt.Sprintf("%3s %8s ", clients, idle) + apps
}

// View implements tui.App.
func (a *Admin) View(width, height int) (string, *tui.Cursor) {
	lines := []string{adminRow("ID", "USER", "NAME", "STATE", "CL", "IDLE", "APPS")}
	if a.err != nil {
		lines = append(lines, "error: "+a.err.Error())
	}
	listH := max(height-3, 1)
	if a.sel < a.top {
		a.top = a.sel
	}
	if a.sel >= a.top+listH {
		a.top = a.sel - listH + 1
	}
	for i := a.top; i < len(a.rows) && i < a.top+listH; i++ {
		r := a.rows[i]
		line := adminRow(r.ID[:min(8, len(r.ID))], tui.Printable(r.User), tui.Printable(r.Name), r.State, strconv.Itoa(r.Clients), r.Idle.String(), r.Apps)
		if i == a.sel {
			line = selStyle.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < height-1 {
		lines = append(lines, "")
	}
	if a.prompt.Active {
		line, x := a.prompt.View(width)
		return strings.Join(append(lines, line), "\n"), &tui.Cursor{X: x, Y: height - 1}
	}
	foot := "d detach · K kill · m message · r refresh"
	if a.status != "" {
		foot = a.status + " · " + foot
	}
	return strings.Join(append(lines, foot), "\n"), nil
}
