// Package apps assembles the registry of every app termhost ships.
package apps

import (
	"termhost/tui"
	"termhost/tui/notes"
)

// Registry returns a registry with all apps, in "new tab" chooser order.
func Registry() *tui.Registry {
	r := &tui.Registry{}
	r.Register(notes.Kind())
	return r
}
