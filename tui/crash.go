package tui

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// guard runs f, one call into the app of t (or into its Kind while t has no
// app yet), and contains a panic: the stack is logged, the tab is stopped
// (crash) and the session goes on. It reports whether f returned normally.
// Every call the workspace makes into app code goes through guard, so no
// app bug can leave the session's lock held or the connection dead (issue 8).
func (w *Workspace) guard(t *tab, kind, where string, f func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			w.crash(t, kind, where, v, debug.Stack())
			ok = false
		}
	}()
	f()
	return true
}

// crash replaces t's app with a crashedApp that keeps the app's state (if
// State still answers), so the snapshot keeps the work and the user can
// restart the app from it.
func (w *Workspace) crash(t *tab, kind, where string, v any, stack []byte) {
	if t.app != nil {
		kind = safeKind(t.app, kind)
	}
	w.logger().Error("app panicked; its tab is stopped", "app", kind, "in", where,
		"panic", fmt.Sprint(v), "stack", string(stack))
	reason := printable(fmt.Sprint(v))
	if t.app == nil { // New panicked
		w.Notice = fmt.Sprintf("app crashed: %s (%s); the tab was not opened", kind, reason)
		return
	}
	if c, ok := t.app.(*crashedApp); ok { // Restore or a restart panicked
		c.reason = reason
		w.Notice = fmt.Sprintf("app crashed: %s (%s); the tab was stopped", kind, reason)
		return
	}
	k, _ := w.reg.Lookup(kind)
	c := &crashedApp{kind: kind, version: k.Version, reason: reason, title: kind}
	func() {
		defer func() { _ = recover() }() // State may be what panicked
		if st, err := t.app.State(); err == nil && json.Valid(st) {
			c.state = st
		}
	}()
	t.app = c
	w.Notice = fmt.Sprintf("app crashed: %s (%s); the tab was stopped", kind, reason)
}

// restart answers a key in a crashed tab: r restores the app from the
// state it kept.
func (w *Workspace) restart(t *tab, c *crashedApp, key string) {
	if key != "r" {
		return
	}
	k, ok := w.reg.Lookup(c.kind)
	if !ok {
		return
	}
	var app App
	var err error
	if !w.guard(t, c.kind, "restart", func() { app, err = k.Restore(w.tabEnv(t), c.version, c.stateOrEmpty()) }) {
		return
	}
	if err != nil || app == nil {
		w.Notice = fmt.Sprintf("cannot restart %s: %v", c.kind, err)
		return
	}
	t.app = app
	w.Notice = "restarted " + c.kind
}

func (w *Workspace) logger() *slog.Logger {
	if w.env.Log != nil {
		return w.env.Log
	}
	return slog.New(slog.DiscardHandler)
}

func safeKind(a App, def string) (kind string) {
	defer func() {
		if recover() != nil {
			kind = def
		}
	}()
	return a.Kind()
}

// printable drops control characters from a panic text shown on screen.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// crashedApp stands in for an app that panicked. It keeps the app's kind,
// state version and last state, so snapshots keep writing that state under
// the app's own kind and a later restore brings the app back.
type crashedApp struct {
	kind, title string
	version     int
	state       json.RawMessage // nil when State failed too
	reason      string
}

func (c *crashedApp) Kind() string        { return c.kind }
func (c *crashedApp) Title() string       { return c.title + " (crashed)" }
func (c *crashedApp) Documents() []string { return []string{} }
func (c *crashedApp) Update(tea.Msg)      {}

// State writes the kept state; an app whose State failed restarts empty.
func (c *crashedApp) State() (json.RawMessage, error) { return c.stateOrEmpty(), nil }

func (c *crashedApp) stateOrEmpty() json.RawMessage {
	if c.state == nil {
		return json.RawMessage("{}")
	}
	return c.state
}

func (c *crashedApp) View(width, height int) (string, *Cursor) {
	kept := "Its state from just before the crash is kept with the session."
	if c.state == nil {
		kept = "Its state could not be kept; a restart starts it empty."
	}
	text := fmt.Sprintf("This %s tab crashed: %s\n\n%s\n\nr: restart it from that state · ctrl+b x: close the tab", c.kind, c.reason, kept)
	return ansi.Wrap(text, max(width, 1), ""), nil
}
