// Package persist holds the store contract: the records termhost keeps and the
// small interfaces each consumer needs. Backends live in sub-packages
// (persist/sqlite, later persist/postgres) and all pass persist/persisttest.
package persist

import (
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped with %w).
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrLeaseLost = errors.New("lease lost")
	ErrCorrupt   = errors.New("corrupt snapshot")
	ErrConflict  = errors.New("document changed since it was loaded")
)

// Roles a user may have.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// User is an account.
type User struct {
	Name         string
	Role         string
	Keys         []string // authorized_keys lines, normalised
	PasswordHash string   // argon2id PHC string, empty for none
	CreatedAt    time.Time
	// LoginGen is the user's login generation (SPEC §10): sealed web login
	// cookies carry it and stop working once it moves on ("sign out
	// everywhere" adds one). It only grows: UpdateUser keeps the larger of
	// the stored and the given value, so a stale read cannot undo a bump.
	LoginGen int64
}

// Session states (SPEC §2).
const (
	StateAttached   = "attached"
	StateDetached   = "detached"
	StateHibernated = "hibernated"
	StateEnded      = "ended"
)

// Session is the durable record of a session; live detail (clients, apps)
// is kept by the sessions package and merged in for listings.
type Session struct {
	ID          string
	Owner       string
	Name        string
	State       string
	Node        string
	CreatedAt   time.Time
	LastInputAt time.Time
	EndedAt     time.Time
	EndReason   string
	DetachedAt  time.Time // when the last client left; zero while attached
	Epoch       int64     // fencing token: bumped by every owner that takes the session
	Apps        []App     // summary of the last snapshot, for listings of sessions not in memory
	// Attachments are the live clients, written by the owner on every
	// attach and detach so that any node can list them (SPEC §6).
	Attachments []Attachment
}

// Attachment is one live client of a session as listings show it (SPEC §1,
// §3 `sessions list --json` clients).
type Attachment struct {
	Transport  string    `json:"transport"`
	RemoteAddr string    `json:"remote_addr"`
	Term       string    `json:"term"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	Since      time.Time `json:"since"`
}

// App is a listing summary of one workspace tab.
type App struct {
	App       string   `json:"app"`
	Documents []string `json:"documents"`
}

// SessionFilter narrows ListSessions; zero fields match everything.
type SessionFilter struct {
	Owner      string
	State      string
	IncludeEnd bool
	// DetachedBefore and CreatedBefore, when set, keep sessions detached
	// (or created) at or before that instant: the policy sweep asks only for the
	// sessions that are due.
	DetachedBefore time.Time
	CreatedBefore  time.Time
}

// Event is one entry in a session's history.
type Event struct {
	SessionID string    `json:"-"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`   // created, attached, detached, hibernated, woke, ended, message, ...
	Actor     string    `json:"actor"`  // user name, admin name or "system"
	Remote    string    `json:"remote"` // client address where one is involved
	Detail    string    `json:"detail"` // reason or message text
}

// Snapshot is one generation of a session's serialised workspace.
type Snapshot struct {
	SessionID string
	Gen       int64
	Epoch     int64
	Data      []byte
	WrittenAt time.Time
}

// QuarantinedSnapshot is a generation set aside because it could not be
// read; an operator can inspect it, and saves never prune it.
type QuarantinedSnapshot struct {
	Snapshot
	Reason string    // why it was unreadable, e.g. "corrupt snapshot: checksum mismatch"
	At     time.Time // when it was set aside
}

// Fence names the writer of a snapshot: a write is refused with ErrLeaseLost
// unless the session's epoch still equals Epoch.
type Fence struct {
	Node  string
	Epoch int64
}

// Document is a user's file-like text.
type Document struct {
	ID        string
	Owner     string
	Title     string
	Body      string
	Version   int64 // bumped on every save; saves are conditional on it
	UpdatedAt time.Time
}

// AuditEntry records an admin action.
type AuditEntry struct {
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

// ChatMessage is one line in a chat room. Seq is global and increasing, so
// "everything after Seq" is how nodes and restored apps catch up.
type ChatMessage struct {
	Seq  int64
	Room string
	User string
	Text string
	At   time.Time
}
