// Package help is the Help app: every key binding, generated from the same
// bubbles/key bindings the workspace documents, one per line so it reads at
// any width, scrollable.
package help

import (
	"encoding/json"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Kind registers Help.
func Kind() tui.Kind {
	return tui.Kind{Name: "help", Title: "Help", Version: Version,
		New: func(env tui.Env, _ string) tui.App { return &Help{} },
		Restore: func(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
			var s state
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			return &Help{scroll: max(s.Scroll, 0)}, nil
		},
	}
}

type state struct {
	Scroll int `json:"scroll,omitempty"`
}

// Help shows every key binding.
type Help struct {
	scroll int
}

// Kind implements tui.App.
func (h *Help) Kind() string { return "help" }

// Title implements tui.App.
func (h *Help) Title() string { return "help" }

// Documents implements tui.App.
func (h *Help) Documents() []string { return []string{} }

// State implements tui.App.
func (h *Help) State() (json.RawMessage, error) { return json.Marshal(state{Scroll: h.scroll}) }

// Update implements tui.App.
func (h *Help) Update(msg tea.Msg) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return
	}
	switch k.String() {
	case "up", "k":
		h.scroll = max(h.scroll-1, 0)
	case "down", "j":
		h.scroll++
	case "pgup":
		h.scroll = max(h.scroll-10, 0)
	case "pgdown":
		h.scroll += 10
	case "home":
		h.scroll = 0
	}
}

var titleStyle = lipgloss.NewStyle().Bold(true)

func lines() []string {
	var out []string
	for _, g := range tui.KeyGroups() {
		out = append(out, titleStyle.Render(g.Title))
		for _, b := range g.Keys {
			hk := b.Help()
			out = append(out, fmt.Sprintf("  %-11s %s", hk.Key, hk.Desc))
		}
		out = append(out, "")
	}
	return out
}

// View implements tui.App.
func (h *Help) View(width, height int) (string, *tui.Cursor) {
	all := lines()
	h.scroll = min(h.scroll, max(len(all)-height, 0))
	end := min(h.scroll+height, len(all))
	return strings.Join(all[h.scroll:end], "\n"), nil
}
