// Package help is the Help app: the key bindings, rendered by bubbles/help
// from the same bindings the workspace uses.
package help

import (
	"encoding/json"
	"strings"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Help.
func Kind() tui.Kind {
	return tui.Kind{Name: "help", Title: "Help", Version: Version,
		New:     func(env tui.Env, _ string) tui.App { return &Help{} },
		Restore: func(env tui.Env, _ int, _ json.RawMessage) (tui.App, error) { return &Help{}, nil },
	}
}

// Help shows every key binding.
type Help struct{}

// Kind implements tui.App.
func (h *Help) Kind() string { return "help" }

// Title implements tui.App.
func (h *Help) Title() string { return "help" }

// Documents implements tui.App.
func (h *Help) Documents() []string { return []string{} }

// State implements tui.App.
func (h *Help) State() (json.RawMessage, error) { return json.RawMessage("{}"), nil }

// Update implements tui.App.
func (h *Help) Update(tea.Msg) {}

// View implements tui.App.
func (h *Help) View(width, height int) (string, *tui.Cursor) {
	m := help.New()
	m.SetWidth(width)
	var b strings.Builder
	for _, g := range tui.KeyGroups() {
		b.WriteString(g.Title + "\n")
		b.WriteString(m.FullHelpView([][]tui.Binding{g.Keys}) + "\n\n")
	}
	return b.String(), nil
}
