package tui

import (
	"encoding/json"
	"errors"
	"fmt"
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

// Snapshot serialises the workspace.
func (w *Workspace) Snapshot() ([]byte, error) {
	s := wsState{Version: StateVersion, Focus: w.focus, Overlay: int(w.overlay)}
	if w.overlay == overlayChooser {
		s.Choice = w.choice
	}
	for _, a := range w.tabs {
		st, err := a.State()
		if err != nil {
			return nil, fmt.Errorf("snapshot %s tab: %w", a.Kind(), err)
		}
		k, _ := w.reg.Lookup(a.Kind())
		s.Tabs = append(s.Tabs, tabState{App: a.Kind(), Version: k.Version, State: st})
	}
	return json.Marshal(s)
}

// Restore rebuilds a workspace from Snapshot output. A tab whose app is
// unknown or whose state is unreadable is an error: the caller then falls
// back to an older generation rather than silently dropping work.
func Restore(reg *Registry, env Env, data []byte) (*Workspace, error) {
	var s wsState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	if s.Version < 1 || s.Version > StateVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads 1..%d", ErrBadState, s.Version, StateVersion)
	}
	w := newWorkspace(reg, env)
	for i, t := range s.Tabs {
		k, ok := reg.Lookup(t.App)
		if !ok {
			return nil, fmt.Errorf("%w: tab %d: unknown app %q", ErrBadState, i, t.App)
		}
		if k.AdminOnly && !env.Admin {
			continue
		}
		if t.Version > k.Version {
			return nil, fmt.Errorf("%w: tab %d: %s state version %d is newer than %d", ErrBadState, i, t.App, t.Version, k.Version)
		}
		a, err := k.Restore(env, t.Version, t.State)
		if err != nil {
			return nil, fmt.Errorf("%w: tab %d (%s): %v", ErrBadState, i, t.App, err)
		}
		w.tabs = append(w.tabs, a)
	}
	w.focus = min(max(s.Focus, 0), max(len(w.tabs)-1, 0))
	if s.Overlay > int(overlayNone) && s.Overlay <= int(overlayQuit) {
		w.overlay = overlay(s.Overlay)
		w.choice = min(max(s.Choice, 0), max(len(reg.Kinds(env.Admin))-1, 0))
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
	for _, a := range w.tabs {
		out = append(out, AppSummary{App: a.Kind(), Documents: a.Documents()})
	}
	return out
}
