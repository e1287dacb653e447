package persist

import (
	"context"
	"io"
)

// Users stores accounts.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	// SignUp creates u like CreateUser, except that when firstAdmin is set
	// and no admin exists yet, u is made an admin in the same transaction
	// (SPEC §7 first-admin rule; it holds under concurrent signups on
	// several nodes). It returns the stored user. ErrExists.
	SignUp(ctx context.Context, u User, firstAdmin bool) (User, error)
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes the account name and, in the same transaction,
	// everything it owns (SPEC §7): its sessions with their history, kept
	// and quarantined snapshot generations, its documents, its last
	// workspace and its login tokens. Chat lines stay (they are the rooms'
	// history) and so does the audit log. It returns ErrNotFound when there
	// is no such account, after removing any rows of that name all the same,
	// so a second call sweeps up what a racing writer left.
	DeleteUser(ctx context.Context, name string) error
	// HasAdmin reports whether any user is an admin.
	HasAdmin(ctx context.Context) (bool, error)
}

// Sessions stores session records and their history.
type Sessions interface {
	// CreateSession stores a new session. When maxPerOwner > 0 and the
	// owner already has that many sessions that have not ended, it fails
	// with ErrLimit, decided in the same transaction (SPEC §6: caps hold
	// under concurrent creates on several nodes). ErrExists when the name
	// is taken among the owner's sessions that have not ended.
	CreateSession(ctx context.Context, s Session, maxPerOwner int) error
	GetSession(ctx context.Context, id string) (Session, error)
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// UpdateSession writes the mutable fields (state, last input, end,
	// apps, attachments) fenced by s.Epoch: ErrLeaseLost when the epoch
	// moved. Node is not written: AcquireLease sets it.
	UpdateSession(ctx context.Context, s Session) error
	// AppendEvent adds e to its session's history; ErrNotFound when the
	// session does not exist (ended by DeleteUser meanwhile): no orphan rows.
	AppendEvent(ctx context.Context, e Event) error
	Events(ctx context.Context, sessionID string) ([]Event, error)
}

// Snapshots stores generations of serialised workspaces.
type Snapshots interface {
	// PutSnapshot stores data as the next generation, fenced by f, and keeps
	// a bounded number of older generations.
	PutSnapshot(ctx context.Context, sessionID string, f Fence, data []byte) (int64, error)
	// Snapshots returns the kept generations, newest first.
	Snapshots(ctx context.Context, sessionID string) ([]Snapshot, error)
	// QuarantineSnapshot sets generation gen of a session aside with the
	// reason it could not be read (SPEC §5: a corrupt snapshot is never
	// loaded silently). It is fenced by f like PutSnapshot. Snapshots no
	// longer returns it, later puts never prune it, and generation numbers
	// are not reused. ErrNotFound when the generation is not kept,
	// ErrLeaseLost when the epoch moved.
	QuarantineSnapshot(ctx context.Context, sessionID string, f Fence, gen int64, reason string) error
	// Quarantined returns a session's quarantined generations, newest first.
	Quarantined(ctx context.Context, sessionID string) ([]QuarantinedSnapshot, error)
	// PutLastWorkspace stores the workspace a user's next new session starts from.
	PutLastWorkspace(ctx context.Context, user string, data []byte) error
	LastWorkspace(ctx context.Context, user string) ([]byte, error)
}

// Documents stores users' documents.
type Documents interface {
	CreateDocument(ctx context.Context, d Document) (Document, error)
	GetDocument(ctx context.Context, owner, id string) (Document, error)
	ListDocuments(ctx context.Context, owner string) ([]Document, error)
	// SaveDocument writes title and body if the stored version is still
	// d.Version, and returns the document with its new version; otherwise
	// ErrConflict.
	SaveDocument(ctx context.Context, d Document) (Document, error)
	DeleteDocument(ctx context.Context, owner, id string) error
}

// Audit stores admin actions.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}

// Chat stores chat rooms' history.
type Chat interface {
	// PostChat appends a message and returns it with its Seq.
	PostChat(ctx context.Context, m ChatMessage) (ChatMessage, error)
	// ChatHistory returns up to limit messages of room with Seq < before
	// (0: the newest), oldest first.
	ChatHistory(ctx context.Context, room string, before int64, limit int) ([]ChatMessage, error)
	// ChatSince returns up to limit messages of every room with Seq > after,
	// oldest first.
	ChatSince(ctx context.Context, after int64, limit int) ([]ChatMessage, error)
}

// Store is everything a backend provides; consumers take the smaller
// interfaces above.
type Store interface {
	Users
	Sessions
	Snapshots
	Documents
	Audit
	Chat
	Logins
	Cluster
	io.Closer
}
