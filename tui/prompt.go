package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Prompt is a one-line text input for apps (titles, messages, confirmations).
type Prompt struct {
	Label  string
	Value  []rune
	Max    int // max bytes; 0 means 200
	Active bool
	// Tag says what the answer is for.
	Tag string
}

// PromptResult is what a key did to a prompt.
type PromptResult int

// Prompt outcomes.
const (
	PromptEditing PromptResult = iota
	PromptDone
	PromptCancelled
)

// PromptState is a prompt's snapshot form: a half-typed answer is a draft
// and comes back after a restore like any other.
type PromptState struct {
	Active bool   `json:"active,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Label  string `json:"label,omitempty"`
	Value  string `json:"value,omitempty"`
}

// State returns the prompt's snapshot form.
func (p *Prompt) State() PromptState {
	return PromptState{Active: p.Active, Tag: p.Tag, Label: p.Label, Value: string(p.Value)}
}

// SetState restores a prompt.
func (p *Prompt) SetState(s PromptState) {
	p.Active, p.Tag, p.Label, p.Value = s.Active, s.Tag, s.Label, []rune(s.Value)
}

// Start opens the prompt.
func (p *Prompt) Start(tag, label, value string) {
	p.Tag, p.Label, p.Value, p.Active = tag, label, []rune(value), true
}

// Update handles one key.
func (p *Prompt) Update(k tea.KeyPressMsg) PromptResult {
	limit := p.Max
	if limit == 0 {
		limit = 200
	}
	switch k.String() {
	case "enter":
		p.Active = false
		return PromptDone
	case "esc", "ctrl+c":
		p.Active = false
		return PromptCancelled
	case "backspace", "ctrl+h":
		if len(p.Value) > 0 {
			p.Value = p.Value[:len(p.Value)-1]
		}
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 && len(string(p.Value))+len(k.Text) <= limit {
			for _, r := range k.Text {
				if r >= 0x20 && r != 0x7f {
					p.Value = append(p.Value, r)
				}
			}
		}
	}
	return PromptEditing
}

// Text is the trimmed answer.
func (p *Prompt) Text() string { return strings.TrimSpace(string(p.Value)) }

// View renders the prompt line (at most width cells) and the cursor column.
func (p *Prompt) View(width int) (string, int) {
	line := Printable(p.Label + string(p.Value)) // SPEC §4: shown escaped
	w := ansi.StringWidthWc(line)
	if w >= width {
		line = ansi.TruncateLeftWc(line, w-width+1, "")
		w = width - 1
	}
	return line, w
}
