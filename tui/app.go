// Package tui holds the workspace a session shows: tabs of apps, the tab bar,
// the status bar and the prefix keys of SPEC §3. It knows nothing of
// transports or the store: documents arrive through the Docs interface, and
// the session layer drives Update and View.
package tui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
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

// MaxDocumentSize caps a document's body in bytes (SPEC §7): the store
// refuses larger saves and Notes refuses to grow unsaved text past it.
const MaxDocumentSize = 1 << 20

// ErrConflict is returned by Docs.Save when the stored document is newer.
var ErrConflict = errors.New("document changed since it was loaded")

// ErrNotFound is returned by Docs.Get and Docs.Save for a document that
// does not exist (deleted elsewhere).
var ErrNotFound = errors.New("the document was deleted")

// DocRenamed is broadcast (Env.Broadcast) after a document was renamed:
// tabs editing it take the new title and, when they were at version From,
// the new Version, so their next save is no false conflict (issue 9).
type DocRenamed struct {
	ID, Title     string
	From, Version int64
}

// SessionsChanged is delivered to every workspace when a session is
// created, attached, detached, hibernated, woken or ended (the sessions
// layer coalesces them): Admin and Who read their tables again while
// visible, so they follow changes without "r" (issue 9).
type SessionsChanged struct{}

// DocDeleted is broadcast after a document was deleted: tabs editing it
// keep the text, marked unsaved, and ctrl+s saves it as a new document.
type DocDeleted struct{ ID, Title string }

// Docs is the part of the store the apps may use, already scoped to the user.
type Docs interface {
	Create(ctx context.Context, title, body string) (Doc, error)
	Get(ctx context.Context, id string) (Doc, error)
	List(ctx context.Context) ([]Doc, error)
	Save(ctx context.Context, d Doc) (Doc, error)
	Delete(ctx context.Context, id string) error
}

// StoreTimeout bounds every store call an app makes (Env.Go gives the call
// a context with this deadline). A store that does not answer in time makes
// the app show an error instead of a spinner that never ends (issue 8).
const StoreTimeout = 5 * time.Second

// ErrSlowDown is returned by Chat.Post when the user posts faster than the
// node allows (issue 8 item 7); the post is refused, not queued.
var ErrSlowDown = errors.New("slow down")

// Env is what an app receives from the workspace. Apps restored from a
// snapshot get exactly the Env that new ones get (one construction path in
// the workspace), so a restored app behaves like a new one.
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
	// returns, under the lock, to the app that called Run and to no other
	// (a closed tab gets nothing). Apps use it for everything that may
	// block: all store I/O (through Go), admin actions, presence. Run
	// itself never blocks. nil in bare test environments.
	Run func(cmd tea.Cmd)
	// Broadcast hands msg to every tab of this workspace after the current
	// update, and to Publish. Apps use it for news other tabs must follow
	// (DocRenamed, DocDeleted). Set by the workspace.
	Broadcast func(msg tea.Msg)
	// Publish delivers msg to the user's other live sessions (the sessions
	// layer sets it; nil: this workspace only). It never blocks.
	Publish func(msg tea.Msg)
	// Chat is the chat service, scoped to the user; nil disables Chat.
	Chat Chat
	// Who lists who is online; nil when unknown.
	Who func(ctx context.Context) ([]Presence, error)
	// Ops is the session administration service; nil for non-admins.
	Ops Ops
	// Now is the clock for timestamps shown on screen.
	Now func() time.Time
	// Log receives contained app panics (with their stack); nil discards.
	Log *slog.Logger
	// StoreTimeout bounds each call Go runs; 0 means the package's
	// StoreTimeout (tests inject a short one).
	StoreTimeout time.Duration
}

// Go runs f off the session's lock through Run, with a context that ends
// after StoreTimeout (Env.StoreTimeout when set), and delivers the message f returns to the calling app
// only. It reports false, running nothing, when the Env has no Run.
// Apps call the store only from f: never from Update, View, New or Restore.
func (e Env) Go(f func(ctx context.Context) tea.Msg) bool {
	if e.Run == nil {
		return false
	}
	d := e.StoreTimeout
	if d <= 0 {
		d = StoreTimeout
	}
	e.Run(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return f(ctx)
	})
	return true
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

// ChatResync replaces ChatMsgs a busy session could not take in time (its
// mailbox overflowed; issue 8): the lines are in the store, and chat apps
// read their rooms again.
type ChatResync struct{}

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

// Unsaver is implemented by apps that can hold text the store does not
// have yet; ctrl+b x asks before closing such a tab (issue 9).
type Unsaver interface{ Unsaved() bool }

// Badger is implemented by apps with an unread count for the status bar.
type Badger interface{ Unread() int }

// App is one tab's program. Apps are driven under the session's lock and
// need no locking of their own; for the same reason they must not block:
// store calls go through Env.Go and come back as messages. A panic in any
// method is contained by the workspace: the tab is stopped, the session
// keeps serving.
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
	// New makes a fresh app. It does no I/O: it returns at once and loads
	// what it needs through env.Go.
	New func(env Env, arg string) App
	// Restore rebuilds an app from a State written at the given version,
	// with no I/O, like New.
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
