package tui

import "charm.land/bubbles/v2/key"

// Binding is a key binding with its help text.
type Binding = key.Binding

// KeyGroup is a titled set of bindings for help screens.
type KeyGroup struct {
	Title string
	Keys  []Binding
}

func bind(keys, desc string) Binding {
	return key.NewBinding(key.WithKeys(keys), key.WithHelp(keys, desc))
}

// KeyGroups lists every binding, for the help overlay and the Help app.
func KeyGroups() []KeyGroup {
	return []KeyGroup{
		{"Workspace (prefix ctrl+b)", []Binding{
			bind("ctrl+b d", "detach"), bind("ctrl+b c", "new tab"), bind("ctrl+b n/p", "next/prev tab"),
			bind("ctrl+b 1-9", "go to tab"), bind("ctrl+b x", "close tab (asks if unsaved)"), bind("ctrl+b q", "end session"),
			bind("ctrl+b ?", "help"),
		}},
		{"Notes", []Binding{
			bind("ctrl+s", "save"), bind("arrows", "move"), bind("home/end", "line start/end"),
			bind("pgup/pgdn", "page"), bind("ctrl+←/→", "word"),
		}},
		{"Documents", []Binding{
			bind("enter", "open"), bind("n", "new"), bind("r", "rename"), bind("D", "delete"),
		}},
		{"Chat", []Binding{
			bind("enter", "send"), bind("/join #room", "join"), bind("/part", "leave"), bind("tab", "next room"),
			bind("pgup/pgdn", "scroll"),
		}},
		{"Admin", []Binding{
			bind("d", "detach"), bind("K", "kill"), bind("m", "message"), bind("r", "refresh"),
		}},
	}
}
