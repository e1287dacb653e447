package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// PickItem is one row of the session picker.
type PickItem struct {
	ID, Name, State, LastActive, Apps string
}

// Picker lets a user choose among their sessions or start a new one.
type Picker struct {
	User  string
	Items []PickItem
	sel   int
}

// PickResult is the outcome of a key in the picker.
type PickResult int

// Picker outcomes.
const (
	PickNone PickResult = iota
	PickChosen
	PickNew
	PickQuit
)

// Selected is the chosen item (valid after PickChosen).
func (p *Picker) Selected() PickItem { return p.Items[p.sel] }

// Update handles one key.
func (p *Picker) Update(msg tea.Msg) PickResult {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return PickNone
	}
	n := len(p.Items) + 1 // the last row is "new session"
	switch k.String() {
	case "up", "k":
		p.sel = (p.sel + n - 1) % n
	case "down", "j", "tab":
		p.sel = (p.sel + 1) % n
	case "enter":
		if p.sel == len(p.Items) {
			return PickNew
		}
		return PickChosen
	case "n":
		return PickNew
	case "q", "ctrl+c", "ctrl+d", "esc":
		return PickQuit
	}
	return PickNone
}

// View renders the picker.
func (p *Picker) View(width, height int) string {
	if width < MinWidth || height < MinHeight {
		return tooSmall(width, height)
	}
	lines := []string{fit(fmt.Sprintf(" %s: choose a session", p.User), width, barStyle)}
	for i, it := range p.Items {
		mark := "  "
		if i == p.sel {
			mark = "> "
		}
		lines = append(lines, fmt.Sprintf("%s%s %-10s %-8s %s", mark, Pad(Printable(it.Name), 12), it.State, it.LastActive, it.Apps))
	}
	mark := "  "
	if p.sel == len(p.Items) {
		mark = "> "
	}
	lines = append(lines, mark+"+ new session", "", "enter: attach  n: new  q: quit")
	return strings.Join(fitBlock(strings.Join(lines, "\n"), width, height), "\n")
}
