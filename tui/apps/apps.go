// Package apps assembles the registry of every app termhost ships.
package apps

import (
	"termhost/tui"
	"termhost/tui/adminapp"
	"termhost/tui/chat"
	"termhost/tui/docs"
	"termhost/tui/help"
	"termhost/tui/notes"
	"termhost/tui/who"
)

// Registry returns a registry with all apps, in "new tab" chooser order.
func Registry() *tui.Registry {
	r := &tui.Registry{}
	r.Register(notes.Kind())
	r.Register(docs.Kind())
	r.Register(chat.Kind())
	r.Register(who.Kind())
	r.Register(adminapp.Kind())
	r.Register(help.Kind())
	return r
}
