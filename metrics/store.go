package metrics

import (
	"context"
	"errors"
	"time"

	"termhost/persist"
)

// Store decorates a persist.Store: every call it overrides counts its
// failures in termhost_store_errors_total{op}, snapshot writes are timed
// and sized, and stored chat messages are counted. Methods added to the
// contract later pass through uncounted until they are listed here.
type Store struct {
	persist.Store
	m *Metrics
}

// InstrumentStore returns st wrapped so that its calls are measured.
func (m *Metrics) InstrumentStore(st persist.Store) *Store { return &Store{Store: st, m: m} }

// Unwrap returns the store being measured.
func (s *Store) Unwrap() persist.Store { return s.Store }

// storeOps are the op labels of termhost_store_errors_total: one per
// method Store overrides, each exported at 0 from the start. A test keeps
// this list and the methods in step.
var storeOps = []string{
	"put_snapshot", "post_chat", "create_user", "get_user", "list_users", "update_user",
	"delete_user", "has_admin", "create_session", "get_session", "list_sessions",
	"update_session", "append_event", "events", "snapshots",
	"put_last_workspace", "last_workspace", "create_document", "get_document",
	"list_documents", "save_document", "delete_document", "append_audit", "audit_log",
	"chat_history", "chat_since", "sign_up", "acquire_lease", "renew_leases",
	"release_lease", "get_lease", "heartbeat", "list_nodes", "post_request",
	"take_requests", "notify", "ensure_secret",
}

// answers are results a caller expects and handles; they are not failures
// of the store.
// ErrLeaseHeld (another node runs the session) and ErrLimit (a store-side
// cap) are answers of the cluster contract (SPEC §6).
var answers = []error{persist.ErrNotFound, persist.ErrExists, persist.ErrConflict, persist.ErrLeaseLost,
	persist.ErrLeaseHeld, persist.ErrLimit}

// done counts err against op when it is a failure and returns it unchanged.
func (s *Store) done(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, a := range answers {
		if errors.Is(err, a) {
			return err
		}
	}
	s.m.StoreError(op)
	return err
}

// PutSnapshot implements persist.Snapshots, timing and sizing the write.
func (s *Store) PutSnapshot(ctx context.Context, sessionID string, f persist.Fence, data []byte) (int64, error) {
	start := time.Now()
	gen, err := s.Store.PutSnapshot(ctx, sessionID, f, data)
	s.m.SnapshotWritten(time.Since(start), len(data), err)
	return gen, s.done("put_snapshot", err)
}

// PostChat implements persist.Chat, counting stored messages.
func (s *Store) PostChat(ctx context.Context, msg persist.ChatMessage) (persist.ChatMessage, error) {
	out, err := s.Store.PostChat(ctx, msg)
	if err == nil {
		s.m.ChatPosted()
	}
	return out, s.done("post_chat", err)
}

// CreateUser implements persist.Users, counting failures.
func (s *Store) CreateUser(ctx context.Context, u persist.User) error {
	return s.done("create_user", s.Store.CreateUser(ctx, u))
}

// GetUser implements persist.Users, counting failures.
func (s *Store) GetUser(ctx context.Context, name string) (persist.User, error) {
	u, err := s.Store.GetUser(ctx, name)
	return u, s.done("get_user", err)
}

// ListUsers implements persist.Users, counting failures.
func (s *Store) ListUsers(ctx context.Context) ([]persist.User, error) {
	us, err := s.Store.ListUsers(ctx)
	return us, s.done("list_users", err)
}

// UpdateUser implements persist.Users, counting failures.
func (s *Store) UpdateUser(ctx context.Context, u persist.User) error {
	return s.done("update_user", s.Store.UpdateUser(ctx, u))
}

// DeleteUser implements persist.Users, counting failures.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.done("delete_user", s.Store.DeleteUser(ctx, name))
}

// HasAdmin implements persist.Users, counting failures.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	ok, err := s.Store.HasAdmin(ctx)
	return ok, s.done("has_admin", err)
}

// SignUp implements persist.Users, counting failures.
func (s *Store) SignUp(ctx context.Context, u persist.User, firstAdmin bool) (persist.User, error) {
	out, err := s.Store.SignUp(ctx, u, firstAdmin)
	return out, s.done("sign_up", err)
}

// CreateSession implements persist.Sessions, counting failures.
func (s *Store) CreateSession(ctx context.Context, rec persist.Session, maxPerOwner int) error {
	return s.done("create_session", s.Store.CreateSession(ctx, rec, maxPerOwner))
}

// GetSession implements persist.Sessions, counting failures.
func (s *Store) GetSession(ctx context.Context, id string) (persist.Session, error) {
	rec, err := s.Store.GetSession(ctx, id)
	return rec, s.done("get_session", err)
}

// ListSessions implements persist.Sessions, counting failures.
func (s *Store) ListSessions(ctx context.Context, f persist.SessionFilter) ([]persist.Session, error) {
	recs, err := s.Store.ListSessions(ctx, f)
	return recs, s.done("list_sessions", err)
}

// UpdateSession implements persist.Sessions, counting failures.
func (s *Store) UpdateSession(ctx context.Context, rec persist.Session) error {
	return s.done("update_session", s.Store.UpdateSession(ctx, rec))
}

// AcquireLease implements persist.Leases, counting failures (ErrLeaseHeld
// is an answer).
func (s *Store) AcquireLease(ctx context.Context, id string, o persist.Owner, ttl time.Duration) (persist.Lease, error) {
	l, err := s.Store.AcquireLease(ctx, id, o, ttl)
	return l, s.done("acquire_lease", err)
}

// RenewLeases implements persist.Leases, counting failures.
func (s *Store) RenewLeases(ctx context.Context, o persist.Owner, ttl time.Duration) ([]persist.Lease, error) {
	ls, err := s.Store.RenewLeases(ctx, o, ttl)
	return ls, s.done("renew_leases", err)
}

// ReleaseLease implements persist.Leases, counting failures (ErrLeaseLost
// is an answer).
func (s *Store) ReleaseLease(ctx context.Context, id string, f persist.Fence) error {
	return s.done("release_lease", s.Store.ReleaseLease(ctx, id, f))
}

// GetLease implements persist.Leases, counting failures.
func (s *Store) GetLease(ctx context.Context, id string) (persist.Lease, error) {
	l, err := s.Store.GetLease(ctx, id)
	return l, s.done("get_lease", err)
}

// Heartbeat implements persist.Nodes, counting failures.
func (s *Store) Heartbeat(ctx context.Context, n persist.Node) error {
	return s.done("heartbeat", s.Store.Heartbeat(ctx, n))
}

// ListNodes implements persist.Nodes, counting failures.
func (s *Store) ListNodes(ctx context.Context) ([]persist.Node, error) {
	ns, err := s.Store.ListNodes(ctx)
	return ns, s.done("list_nodes", err)
}

// PostRequest implements persist.Requests, counting failures.
func (s *Store) PostRequest(ctx context.Context, r persist.Request) (persist.Request, error) {
	out, err := s.Store.PostRequest(ctx, r)
	return out, s.done("post_request", err)
}

// TakeRequests implements persist.Requests, counting failures.
func (s *Store) TakeRequests(ctx context.Context, node string) ([]persist.Request, error) {
	rs, err := s.Store.TakeRequests(ctx, node)
	return rs, s.done("take_requests", err)
}

// Notify implements persist.Notifier, counting failures. (Listen passes
// through: it fails once, at start, and its caller logs that.)
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	return s.done("notify", s.Store.Notify(ctx, channel, payload))
}

// EnsureSecret implements persist.Secrets, counting failures.
func (s *Store) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	v, err := s.Store.EnsureSecret(ctx, name, value)
	return v, s.done("ensure_secret", err)
}

// AppendEvent implements persist.Sessions, counting failures.
func (s *Store) AppendEvent(ctx context.Context, e persist.Event) error {
	return s.done("append_event", s.Store.AppendEvent(ctx, e))
}

// Events implements persist.Sessions, counting failures.
func (s *Store) Events(ctx context.Context, sessionID string) ([]persist.Event, error) {
	es, err := s.Store.Events(ctx, sessionID)
	return es, s.done("events", err)
}

// Snapshots implements persist.Snapshots, counting failures.
func (s *Store) Snapshots(ctx context.Context, sessionID string) ([]persist.Snapshot, error) {
	snaps, err := s.Store.Snapshots(ctx, sessionID)
	return snaps, s.done("snapshots", err)
}

// PutLastWorkspace implements persist.Snapshots, counting failures.
func (s *Store) PutLastWorkspace(ctx context.Context, user string, data []byte) error {
	return s.done("put_last_workspace", s.Store.PutLastWorkspace(ctx, user, data))
}

// LastWorkspace implements persist.Snapshots, counting failures.
func (s *Store) LastWorkspace(ctx context.Context, user string) ([]byte, error) {
	data, err := s.Store.LastWorkspace(ctx, user)
	return data, s.done("last_workspace", err)
}

// CreateDocument implements persist.Documents, counting failures.
func (s *Store) CreateDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	out, err := s.Store.CreateDocument(ctx, d)
	return out, s.done("create_document", err)
}

// GetDocument implements persist.Documents, counting failures.
func (s *Store) GetDocument(ctx context.Context, owner, id string) (persist.Document, error) {
	out, err := s.Store.GetDocument(ctx, owner, id)
	return out, s.done("get_document", err)
}

// ListDocuments implements persist.Documents, counting failures.
func (s *Store) ListDocuments(ctx context.Context, owner string) ([]persist.Document, error) {
	out, err := s.Store.ListDocuments(ctx, owner)
	return out, s.done("list_documents", err)
}

// SaveDocument implements persist.Documents, counting failures.
func (s *Store) SaveDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	out, err := s.Store.SaveDocument(ctx, d)
	return out, s.done("save_document", err)
}

// DeleteDocument implements persist.Documents, counting failures.
func (s *Store) DeleteDocument(ctx context.Context, owner, id string) error {
	return s.done("delete_document", s.Store.DeleteDocument(ctx, owner, id))
}

// AppendAudit implements persist.Audit, counting failures.
func (s *Store) AppendAudit(ctx context.Context, e persist.AuditEntry) error {
	return s.done("append_audit", s.Store.AppendAudit(ctx, e))
}

// AuditLog implements persist.Audit, counting failures.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]persist.AuditEntry, error) {
	out, err := s.Store.AuditLog(ctx, limit)
	return out, s.done("audit_log", err)
}

// ChatHistory implements persist.Chat, counting failures.
func (s *Store) ChatHistory(ctx context.Context, room string, before int64, limit int) ([]persist.ChatMessage, error) {
	out, err := s.Store.ChatHistory(ctx, room, before, limit)
	return out, s.done("chat_history", err)
}

// ChatSince implements persist.Chat, counting failures.
func (s *Store) ChatSince(ctx context.Context, after int64, limit int) ([]persist.ChatMessage, error) {
	out, err := s.Store.ChatSince(ctx, after, limit)
	return out, s.done("chat_since", err)
}
