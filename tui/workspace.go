package tui

import (
	"fmt"
	"slices"

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
	overlayClose // ctrl+b x on a tab with unsaved text: confirm
)

// tab is one open app. Its identity (the pointer) addresses the results
// of commands the app ran, so a result reaches the tab that asked even
// after tabs moved, and a closed tab's results are dropped.
type tab struct {
	app App
}

// tabMsg carries a command's result to the tab that ran the command.
type tabMsg struct {
	to  *tab
	msg tea.Msg
}

// Workspace is a session's screen: tabs of apps plus the bars around them.
// It is not safe for concurrent use; the session serialises calls.
type Workspace struct {
	reg  *Registry
	env  Env
	tabs []*tab
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
	bars    [2]barMemo // the tab bar's and the status bar's last fit (View)
	tabMemo tabMemo    // the tab bar's last labels (tabBar)
	// queued are Broadcast messages, handed to every tab once the update
	// that sent them is over (an app never runs inside another's update).
	queued []tea.Msg
}

// newWorkspace is the one way a workspace comes to life (New and Restore):
// it completes env with the workspace's callbacks, which every app then
// gets through tabEnv whether it is new or restored.
func newWorkspace(reg *Registry, env Env) *Workspace {
	w := &Workspace{reg: reg}
	env.Open = w.open
	env.Notify = func(msg string) { w.Notice = msg }
	publish := env.Publish
	env.Broadcast = func(msg tea.Msg) {
		w.queued = append(w.queued, msg)
		if publish != nil {
			publish(msg)
		}
	}
	w.env = env
	return w
}

// tabEnv is the Env of the app in t: the workspace's, with Run addressing
// results to t.
func (w *Workspace) tabEnv(t *tab) Env {
	env := w.env
	if run := w.env.Run; run != nil {
		env.Run = func(cmd tea.Cmd) {
			run(func() tea.Msg {
				if msg := cmd(); msg != nil {
					return tabMsg{to: t, msg: msg}
				}
				return nil
			})
		}
	}
	return env
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
	if t := w.focused(); t != nil {
		return t.app
	}
	return nil
}

func (w *Workspace) focused() *tab {
	if w.focus < 0 || w.focus >= len(w.tabs) {
		return nil
	}
	return w.tabs[w.focus]
}

// open adds a focused tab of kind (Env.Open).
// MaxTabs bounds the tabs of one workspace (SPEC §7: what one user can make
// the server hold). Every tab keeps its app's state in memory and every key
// tells each tab whether it is focused, so without a bound one user could
// hold gigabytes and the session lock for seconds (attack trial: 20,000
// tabs). A restored workspace keeps the tabs it has; only opening more is
// refused.
const MaxTabs = 16

func (w *Workspace) open(kind, arg string) {
	k, ok := w.reg.Lookup(kind)
	if !ok || (k.AdminOnly && !w.env.Admin) {
		w.Notice = "unknown app " + kind
		return
	}
	if len(w.tabs) >= MaxTabs {
		w.Notice = fmt.Sprintf("at most %d tabs: close one first (ctrl+b x)", MaxTabs)
		return
	}
	t := &tab{}
	if !w.guard(t, k.Name, "start", func() { t.app = k.New(w.tabEnv(t), arg) }) || t.app == nil {
		return
	}
	w.tabs = append(w.tabs, t)
	w.focus = len(w.tabs) - 1
	w.syncFocus()
}

// syncFocus tells apps that care whether they are the visible tab.
func (w *Workspace) syncFocus() {
	for i, t := range slices.Clone(w.tabs) {
		if f, ok := t.app.(Focuser); ok {
			w.guard(t, "", "focus", func() { f.SetFocused(i == w.focus && w.overlay == overlayNone) })
		}
	}
}

// Unread sums the unread counts of all tabs.
func (w *Workspace) Unread() int {
	n := 0
	for _, t := range slices.Clone(w.tabs) {
		if b, ok := t.app.(Badger); ok {
			w.guard(t, "", "unread", func() { n += b.Unread() })
		}
	}
	return n
}

// Update applies one message and says what the session should do.
func (w *Workspace) Update(msg tea.Msg) Action {
	defer w.flushBroadcasts()
	key, isKey := msg.(tea.KeyPressMsg)
	if !isKey {
		switch m := msg.(type) {
		case tabMsg:
			// A command's result goes to the tab that ran it, if still open.
			if slices.Contains(w.tabs, m.to) {
				w.update(m.to, m.msg)
			}
		case tea.PasteMsg:
			if t := w.focused(); t != nil {
				w.update(t, msg)
			}
		default:
			// Broadcasts (chat) reach every tab; each takes what concerns it.
			for _, t := range slices.Clone(w.tabs) {
				w.update(t, msg)
			}
		}
		return ActNone
	}
	defer w.syncFocus()
	w.Notice = ""
	// The prefix works from anywhere, overlays included (SPEC §3: ctrl+b d
	// always detaches); a prefix command closes the overlay it came from.
	switch {
	case w.prefix:
		w.prefix = false
		w.overlay = overlayNone
		return w.prefixKey(key)
	case key.String() == "ctrl+b":
		w.prefix = true
		return ActNone
	case w.overlay != overlayNone:
		return w.updateOverlay(key)
	}
	if t := w.focused(); t != nil {
		if c, ok := t.app.(*crashedApp); ok {
			w.restart(t, c, key.String())
		} else {
			w.update(t, msg)
		}
	} else if key.String() == "enter" {
		w.overlay, w.choice = overlayChooser, 0
	}
	return ActNone
}

// flushBroadcasts hands queued Broadcast messages to every tab, in order;
// bounded, so apps that answer a broadcast with one cannot loop forever.
func (w *Workspace) flushBroadcasts() {
	for i := 0; i < 64 && len(w.queued) > 0; i++ {
		msg := w.queued[0]
		w.queued = w.queued[1:]
		for _, t := range slices.Clone(w.tabs) {
			w.update(t, msg)
		}
	}
	w.queued = nil
}

// update hands msg to t's app, containing a panic.
func (w *Workspace) update(t *tab, msg tea.Msg) {
	w.guard(t, "", "update", func() { t.app.Update(msg) })
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
		if u, ok := w.focusedApp().(Unsaver); ok && w.unsaved(u) {
			w.overlay = overlayClose // closing would lose text: ask
		} else {
			w.closeTab()
		}
	case "?":
		w.overlay = overlayHelp
	case "q":
		w.overlay = overlayQuit
	case "ctrl+b":
		// ctrl+b twice sends one ctrl+b to the app.
		if t := w.focused(); t != nil {
			w.update(t, key)
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

// focusedApp is the focused tab's app, nil without tabs.
func (w *Workspace) focusedApp() App {
	if t := w.focused(); t != nil {
		return t.app
	}
	return nil
}

// unsaved asks u, containing a panic (a crashed app has nothing to lose).
func (w *Workspace) unsaved(u Unsaver) bool {
	dirty := false
	w.guard(w.focused(), "", "unsaved", func() { dirty = u.Unsaved() })
	return dirty
}

// closeLines is the close-confirm overlay's text.
func (w *Workspace) closeLines() []string {
	title := ""
	if a := w.focusedApp(); a != nil {
		title = Printable(a.Title())
	}
	return []string{"Close " + title + "?", "", "It holds unsaved text (a note not saved, a draft not sent).", "y: close it and lose the text", "any other key: keep the tab"}
}

func (w *Workspace) closeTab() {
	if len(w.tabs) == 0 {
		return
	}
	w.tabs = slices.Delete(w.tabs, w.focus, w.focus+1)
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
	case overlayClose:
		w.overlay = overlayNone
		if s == "y" || s == "Y" {
			w.closeTab()
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
