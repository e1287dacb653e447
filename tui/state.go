package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// StateVersion is the version of the workspace envelope this code writes.
// Older versions must keep loading (see testdata fixtures).
const StateVersion = 1

// ErrBadState means a snapshot cannot be restored.
var ErrBadState = errors.New("bad workspace state")

type wsState struct {
	Version int        `json:"v"`
	Focus   int        `json:"focus"`
	Tabs    []tabState `json:"tabs"`
	// Overlay and Choice keep an open chooser, help or quit question.
	Overlay int `json:"overlay,omitempty"`
	Choice  int `json:"choice,omitempty"`
}

type tabState struct {
	App     string          `json:"app"`
	Version int             `json:"v"`
	State   json.RawMessage `json:"state"`
}

// Snapshot serialises the workspace. An app whose State panics is stopped
// (its tab keeps the state it could still give, see crash) and the
// snapshot goes on; an app's State error fails the snapshot.
func (w *Workspace) Snapshot() ([]byte, error) {
	s := wsState{Version: StateVersion, Focus: w.focus, Overlay: int(w.overlay)}
	if w.overlay == overlayChooser {
		s.Choice = w.choice
	}
	for _, t := range slices.Clone(w.tabs) {
		var kind string
		var st json.RawMessage
		var err error
		if !w.guard(t, "", "state", func() { kind = t.app.Kind(); st, err = t.app.State() }) {
			kind = t.app.Kind() // the crashedApp, which keeps what it could
			st, err = t.app.State()
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot %s tab: %w", kind, err)
		}
		k, _ := w.reg.Lookup(kind)
		version := k.Version
		if c, ok := t.app.(*crashedApp); ok {
			version = c.version
		}
		s.Tabs = append(s.Tabs, tabState{App: kind, Version: version, State: st})
	}
	return json.Marshal(s)
}

// Restore rebuilds a workspace from Snapshot output. A tab whose app is
// unknown or whose state is unreadable is an error: the caller then falls
// back to an older generation rather than silently dropping work. Restore
// makes every app exactly as a new one is made (tabEnv), does no I/O
// itself, and apps restore without I/O (Kind.Restore); an app whose
// Restore panics comes back stopped, keeping its saved state.
func Restore(reg *Registry, env Env, data []byte) (*Workspace, error) {
	var s wsState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	if s.Version < 1 || s.Version > StateVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads 1..%d", ErrBadState, s.Version, StateVersion)
	}
	w := newWorkspace(reg, env)
	for i, ts := range s.Tabs {
		k, ok := reg.Lookup(ts.App)
		if !ok {
			return nil, fmt.Errorf("%w: tab %d: unknown app %q", ErrBadState, i, ts.App)
		}
		if k.AdminOnly && !w.env.Admin {
			continue
		}
		if ts.Version > k.Version {
			return nil, fmt.Errorf("%w: tab %d: %s state version %d is newer than %d", ErrBadState, i, ts.App, ts.Version, k.Version)
		}
		// Until Restore returns the tab is a stopped app keeping ts.State:
		// what stays if Restore panics (crash then fills in the reason).
		t := &tab{app: &crashedApp{kind: k.Name, title: k.Name, version: ts.Version, state: ts.State}}
		var err error
		if w.guard(t, k.Name, "restore", func() { t.app, err = k.Restore(w.tabEnv(t), ts.Version, ts.State) }) && err != nil {
			return nil, fmt.Errorf("%w: tab %d (%s): %v", ErrBadState, i, ts.App, err)
		}
		w.tabs = append(w.tabs, t)
	}
	w.focus = min(max(s.Focus, 0), max(len(w.tabs)-1, 0))
	if s.Overlay > int(overlayNone) && s.Overlay <= int(overlayClose) { // an open question is state too
		w.overlay = overlay(s.Overlay)
		w.choice = min(max(s.Choice, 0), max(len(reg.Kinds(w.env.Admin))-1, 0))
	}
	w.syncFocus()
	return w, nil
}

// AppSummary names a tab's app and its open documents, for listings.
type AppSummary struct {
	App       string
	Documents []string
}

// Summary lists the tabs for admin listings.
func (w *Workspace) Summary() []AppSummary {
	out := make([]AppSummary, 0, len(w.tabs))
	for _, t := range slices.Clone(w.tabs) {
		var sum AppSummary
		if !w.guard(t, "", "documents", func() { sum = AppSummary{App: t.app.Kind(), Documents: t.app.Documents()} }) {
			sum = AppSummary{App: t.app.Kind(), Documents: t.app.Documents()}
		}
		out = append(out, sum)
	}
	return out
}
