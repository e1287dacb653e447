// Package who is the Who app: the users online, attached or idle.
package who

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Who.
func Kind() tui.Kind {
	return tui.Kind{Name: "who", Title: "Who's online", Version: Version,
		New:     func(env tui.Env, _ string) tui.App { return &Who{env: env} },
		Restore: func(env tui.Env, _ int, _ json.RawMessage) (tui.App, error) { return &Who{env: env}, nil },
	}
}

// listMsg carries a refreshed list back from Env.Run.
type listMsg struct {
	to   *Who
	list []tui.Presence
	err  error
}

// Who lists online users. The list is fetched off the session lock when
// the tab is shown, when sessions change (tui.SessionsChanged) while it is
// shown, and on "r"; nothing ticks while nobody looks.
type Who struct {
	env     tui.Env
	list    []tui.Presence
	err     error
	loaded  bool
	focused bool
	// fetching is set while a request is in flight; again asks for
	// another when it lands (a change arrived meanwhile).
	fetching, again bool
}

// Kind implements tui.App.
func (w *Who) Kind() string { return "who" }

// Title implements tui.App.
func (w *Who) Title() string { return "who" }

// Documents implements tui.App.
func (w *Who) Documents() []string { return []string{} }

// State implements tui.App; nothing to keep.
func (w *Who) State() (json.RawMessage, error) { return json.RawMessage("{}"), nil }

// SetFocused implements tui.Focuser.
func (w *Who) SetFocused(f bool) {
	if f && !w.focused {
		w.refresh()
	}
	w.focused = f
}

// refresh asks for the list off the session's lock, one request at a time.
func (w *Who) refresh() {
	if w.fetching {
		w.again = true
		return
	}
	if w.env.Who == nil {
		return
	}
	who := w.env.Who
	w.fetching = w.env.Go(func(ctx context.Context) tea.Msg {
		list, err := who(ctx)
		return listMsg{to: w, list: list, err: err}
	})
}

// Update implements tui.App.
func (w *Who) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case listMsg:
		if m.to == w {
			w.list, w.err, w.loaded, w.fetching = m.list, m.err, true, false
			if w.again {
				w.again = false
				w.refresh()
			}
		}
	case tui.SessionsChanged:
		if w.focused {
			w.refresh()
		}
	case tea.KeyPressMsg:
		if m.String() == "r" {
			w.refresh()
		}
	}
}

// View implements tui.App.
func (w *Who) View(width, height int) (string, *tui.Cursor) {
	lines := []string{fmt.Sprintf("%-16s %-9s %s", "USER", "SESSIONS", "STATUS")}
	switch {
	case w.err != nil:
		lines = append(lines, "error: "+w.err.Error())
	case !w.loaded:
		lines = append(lines, "loading…")
	}
	for _, p := range w.list {
		status := "attached"
		if p.Attached == 0 {
			status = "detached"
		}
		if p.Idle >= time.Minute {
			status += fmt.Sprintf(", idle %s", p.Idle.Truncate(time.Minute))
		}
		lines = append(lines, fmt.Sprintf("%-16s %-9d %s", tui.Printable(p.User), p.Sessions, status))
	}
	lines = append(lines, "", "r: refresh")
	return strings.Join(lines, "\n"), nil
}
