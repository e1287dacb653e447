package tui

import (
	tea "charm.land/bubbletea/v2"
)

// Action is what the workspace asks of its session after an update.
type Action int

// Actions.
const (
	ActNone   Action = iota
	ActDetach        // ctrl+b d
	ActEnd           // ctrl+b q, confirmed
)

// overlay is a modal layer above the tabs.
type overlay int

const (
	overlayNone overlay = iota
	overlayChooser
	overlayHelp
	overlayQuit
)

// Workspace is a session's screen: tabs of apps plus the bars around them.
// It is not safe for concurrent use; the session serialises calls.
type Workspace struct {
	reg  *Registry
	env  Env
	tabs []App
	// focus is the index of the visible tab.
	focus int

	// SessionName is shown in the status bar.
	SessionName string
	// Notice is a transient line in the status bar (admin messages, save
	// results); cleared by the next key.
	Notice string
	// IdleWarning is shown in the status bar while set.
	IdleWarning string

	prefix  bool
	overlay overlay
	choice  int
}

func newWorkspace(reg *Registry, env Env) *Workspace {
	w := &Workspace{reg: reg, env: env}
	env.Open = w.open
	env.Notify = func(msg string) { w.Notice = msg }
	w.env = env
	return w
}

// New returns the workspace of a brand-new session: one Notes tab on a new
// untitled document, focused.
func New(reg *Registry, env Env) *Workspace {
	w := newWorkspace(reg, env)
	w.open("notes", "")
	return w
}

// Tabs returns the number of tabs.
func (w *Workspace) Tabs() int { return len(w.tabs) }

// Focus returns the index of the focused tab.
func (w *Workspace) Focus() int { return w.focus }

// Focused returns the focused app, or nil when there are no tabs.
func (w *Workspace) Focused() App {
	if w.focus < 0 || w.focus >= len(w.tabs) {
		return nil
	}
	return w.tabs[w.focus]
}

func (w *Workspace) open(kind, arg string) {
	k, ok := w.reg.Lookup(kind)
	if !ok || (k.AdminOnly && !w.env.Admin) {
		w.Notice = "unknown app " + kind
		return
	}
	w.tabs = append(w.tabs, k.New(w.env, arg))
	w.focus = len(w.tabs) - 1
	w.syncFocus()
}

// syncFocus tells apps that care whether they are the visible tab.
func (w *Workspace) syncFocus() {
	for i, a := range w.tabs {
		if f, ok := a.(Focuser); ok {
			f.SetFocused(i == w.focus && w.overlay == overlayNone)
		}
	}
}

// Unread sums the unread counts of all tabs.
func (w *Workspace) Unread() int {
	n := 0
	for _, a := range w.tabs {
		if b, ok := a.(Badger); ok {
			n += b.Unread()
		}
	}
	return n
}

// Update applies one message and says what the session should do.
func (w *Workspace) Update(msg tea.Msg) Action {
	key, isKey := msg.(tea.KeyPressMsg)
	if !isKey {
		// Non-key messages (chat, async results, paste) reach every tab;
		// each app takes what concerns it. A paste goes to the focused one.
		if _, paste := msg.(tea.PasteMsg); paste {
			if a := w.Focused(); a != nil {
				a.Update(msg)
			}
			return ActNone
		}
		for _, a := range w.tabs {
			a.Update(msg)
		}
		return ActNone
	}
	defer w.syncFocus()
	w.Notice = ""
	switch {
	case w.overlay != overlayNone:
		return w.updateOverlay(key)
	case w.prefix:
		w.prefix = false
		return w.prefixKey(key)
	case key.String() == "ctrl+b":
		w.prefix = true
		return ActNone
	}
	if a := w.Focused(); a != nil {
		a.Update(msg)
	} else if key.String() == "enter" {
		w.overlay, w.choice = overlayChooser, 0
	}
	return ActNone
}

func (w *Workspace) prefixKey(key tea.KeyPressMsg) Action {
	switch s := key.String(); s {
	case "d":
		return ActDetach
	case "c":
		w.overlay, w.choice = overlayChooser, 0
	case "n":
		if len(w.tabs) > 0 {
			w.focus = (w.focus + 1) % len(w.tabs)
		}
	case "p":
		if len(w.tabs) > 0 {
			w.focus = (w.focus + len(w.tabs) - 1) % len(w.tabs)
		}
	case "x":
		w.closeTab()
	case "?":
		w.overlay = overlayHelp
	case "q":
		w.overlay = overlayQuit
	case "ctrl+b":
		// ctrl+b twice sends one ctrl+b to the app.
		if a := w.Focused(); a != nil {
			a.Update(key)
		}
	default:
		if len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
			if i := int(s[0] - '1'); i < len(w.tabs) {
				w.focus = i
			}
		}
	}
	return ActNone
}

func (w *Workspace) closeTab() {
	if len(w.tabs) == 0 {
		return
	}
	w.tabs = append(w.tabs[:w.focus], w.tabs[w.focus+1:]...)
	if w.focus >= len(w.tabs) {
		w.focus = max(len(w.tabs)-1, 0)
	}
}

func (w *Workspace) updateOverlay(key tea.KeyPressMsg) Action {
	s := key.String()
	switch w.overlay {
	case overlayQuit:
		w.overlay = overlayNone
		if s == "y" || s == "Y" {
			return ActEnd
		}
	case overlayHelp:
		w.overlay = overlayNone
	case overlayChooser:
		kinds := w.reg.Kinds(w.env.Admin)
		switch s {
		case "up", "k":
			w.choice = (w.choice + len(kinds) - 1) % len(kinds)
		case "down", "j":
			w.choice = (w.choice + 1) % len(kinds)
		case "enter":
			w.overlay = overlayNone
			w.open(kinds[w.choice].Name, "")
		case "esc", "q", "ctrl+c":
			w.overlay = overlayNone
		default:
			if len(s) == 1 && s[0] >= '1' && s[0] <= '9' && int(s[0]-'1') < len(kinds) {
				w.overlay = overlayNone
				w.open(kinds[s[0]-'1'].Name, "")
			}
		}
	}
	return ActNone
}
