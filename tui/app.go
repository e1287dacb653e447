// Package tui holds the workspace a session shows: tabs of apps, the tab bar,
// the status bar and the prefix keys of SPEC §3. It knows nothing of
// transports or the store: documents arrive through the Docs interface, and
// the session layer drives Update and View.
package tui

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Cursor is where the terminal cursor goes, relative to the area an app was
// given. A nil *Cursor hides it.
type Cursor struct{ X, Y int }

// Doc is a user's document as the workspace sees it.
type Doc struct {
	ID      string
	Title   string
	Body    string
	Version int64
}

// ErrConflict is returned by Docs.Save when the stored document is newer.
var ErrConflict = errors.New("document changed since it was loaded")

// Docs is the part of the store the apps may use, already scoped to the user.
type Docs interface {
	Create(ctx context.Context, title, body string) (Doc, error)
	Get(ctx context.Context, id string) (Doc, error)
	List(ctx context.Context) ([]Doc, error)
	Save(ctx context.Context, d Doc) (Doc, error)
	Delete(ctx context.Context, id string) error
}

// Env is what an app receives from the workspace.
type Env struct {
	User  string
	Admin bool
	Docs  Docs
	// Open asks the workspace to open another app tab (kind, with initial
	// argument such as a document id).
	Open func(kind, arg string)
	// Notify shows a short message in the status bar.
	Notify func(msg string)
	// Run runs cmd away from the session's lock and delivers the message it
	// returns to every app of this workspace. Apps use it for anything that
	// may touch other sessions (admin actions, presence).
	Run func(cmd tea.Cmd)
	// Chat is the chat service, scoped to the user; nil disables Chat.
	Chat Chat
	// Who lists who is online; nil when unknown.
	Who func(ctx context.Context) ([]Presence, error)
	// Ops is the session administration service; nil for non-admins.
	Ops Ops
	// Now is the clock for timestamps shown on screen.
	Now func() time.Time
}

// Presence is one online user as the Who app shows it.
type Presence struct {
	User     string
	Sessions int
	Attached int
	Idle     time.Duration
}

// ChatMessage is a line of chat.
type ChatMessage struct {
	Seq  int64
	Room string
	User string
	Text string
	At   time.Time
}

// ChatMsg is delivered to every workspace when anyone posts.
type ChatMsg ChatMessage

// Chat posts and reads chat rooms.
type Chat interface {
	Post(ctx context.Context, room, text string) error
	History(ctx context.Context, room string, before int64, limit int) ([]ChatMessage, error)
}

// SessionRow is one session in the Admin app.
type SessionRow struct {
	ID, User, Name, State string
	Clients               int
	Idle                  time.Duration
	Apps                  string
}

// Ops are the admin actions of the Admin app (SPEC §3); each is audited.
type Ops interface {
	Sessions(ctx context.Context) ([]SessionRow, error)
	Detach(ctx context.Context, id string) error
	Kill(ctx context.Context, id string) error
	Message(ctx context.Context, id, text string) error
}

// Focuser is implemented by apps that care whether their tab is visible.
type Focuser interface{ SetFocused(bool) }

// Badger is implemented by apps with an unread count for the status bar.
type Badger interface{ Unread() int }

// App is one tab's program. Apps are driven on the session's goroutine and
// need no locking of their own.
type App interface {
	Kind() string
	// Title is the tab label.
	Title() string
	Update(msg tea.Msg)
	// View renders the app into width×height cells.
	View(width, height int) (string, *Cursor)
	// State is the app's serialised state for snapshots.
	State() (json.RawMessage, error)
	// Documents lists the ids of the documents the app has open.
	Documents() []string
}

// Kind describes how to make an app.
type Kind struct {
	Name    string
	Title   string // shown in the "new tab" chooser
	Version int    // state format version State writes
	// AdminOnly hides the app from non-admin users.
	AdminOnly bool
	New       func(env Env, arg string) App
	// Restore rebuilds an app from a State written at the given version.
	Restore func(env Env, version int, state json.RawMessage) (App, error)
}

// Registry is the set of known app kinds, in chooser order.
type Registry struct {
	kinds []Kind
}

// Register adds a kind.
func (r *Registry) Register(k Kind) { r.kinds = append(r.kinds, k) }

// Lookup finds a kind by name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	for _, k := range r.kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Kinds returns the kinds a user may open.
func (r *Registry) Kinds(admin bool) []Kind {
	var out []Kind
	for _, k := range r.kinds {
		if !k.AdminOnly || admin {
			out = append(out, k)
		}
	}
	return out
}
