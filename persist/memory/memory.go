// Package memory is the storage-less backend of persist.Store (SPEC §10
// `--store memory`): every record lives in this process's memory and
// nothing is written to disk. It is one node's store: sessions last as long
// as the process, and a web session comes back after a restart only from
// the workspace ticket its browser keeps.
//
// A Store is a handle on a db; Handle returns a second handle on the same
// db, as a second node would open the same database (the conformance
// suite's Reopen). Every operation takes db.mu once, so each one is atomic
// the way a transaction is in the SQL backends.
package memory

import (
	"errors"
	"slices"
	"sync"
	"time"

	"termhost/persist"
	"termhost/persist/notifyhub"
)

// keepGenerations is how many snapshot generations survive per session,
// as in persist/sqlite.
const keepGenerations = 3

// Caps on the append-only records, so a long-lived storage-less process
// does not grow without bound; the oldest entries go first.
const (
	maxEventsPerSession = 1_000
	maxAudit            = 10_000
	maxChat             = 50_000
)

// errClosed: an operation on a Store after its Close.
var errClosed = errors.New("memory store closed")

// Store is one handle on an in-memory db.
type Store struct {
	db        *db
	closed    chan struct{} // closed by Close: ends this handle's listeners
	closeOnce sync.Once
}

var _ persist.Store = (*Store)(nil)

// sessionRow is a session record with its lease.
type sessionRow struct {
	s            persist.Session
	leaseOwner   persist.Owner
	leaseExpires time.Time
}

// db is the state every handle shares.
type db struct {
	now func() time.Time // the store clock: lease expiry, node Seen, request At

	mu         sync.Mutex // guards every field below; never held with hub.mu
	users      map[string]persist.User
	sessions   map[string]*sessionRow
	byOwner    map[string]map[string]*sessionRow        // session owner → its sessions
	byLease    map[persist.Owner]map[string]*sessionRow // lease holder → the sessions it holds
	events     map[string][]persist.Event
	snapshots  map[string][]persist.Snapshot // oldest first
	quarantine map[string][]persist.QuarantinedSnapshot
	topGen     map[string]int64 // highest generation ever given, kept or quarantined
	lastWS     map[string][]byte
	docs       map[string]persist.Document
	audit      []persist.AuditEntry // oldest first
	chat       []persist.ChatMessage
	chatSeq    int64
	logins     map[string]persist.Login
	links      map[string]persist.Link
	nodes      map[string]persist.Node
	requests   []persist.Request
	requestSeq int64
	secrets    map[string][]byte

	hub *notifyhub.Hub // notifier shared by every handle (notify.go)
}

// New returns a handle on a new, empty store whose clock is now (nil:
// time.Now). The store clock judges lease expiry as SQLite's does.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	d := &db{
		now:        now,
		users:      map[string]persist.User{},
		sessions:   map[string]*sessionRow{},
		byOwner:    map[string]map[string]*sessionRow{},
		byLease:    map[persist.Owner]map[string]*sessionRow{},
		events:     map[string][]persist.Event{},
		snapshots:  map[string][]persist.Snapshot{},
		quarantine: map[string][]persist.QuarantinedSnapshot{},
		topGen:     map[string]int64{},
		lastWS:     map[string][]byte{},
		docs:       map[string]persist.Document{},
		logins:     map[string]persist.Login{},
		links:      map[string]persist.Link{},
		nodes:      map[string]persist.Node{},
		secrets:    map[string][]byte{},
		hub:        &notifyhub.Hub{},
	}
	return &Store{db: d, closed: make(chan struct{})}
}

// Handle returns a second handle on s's data, with its own Close (its
// listeners end when it closes; the data stays while any handle is used).
func (s *Store) Handle() *Store {
	return &Store{db: s.db, closed: make(chan struct{})}
}

// Close ends this handle's listeners; later calls on it fail. The data
// stays for other handles. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// lock takes db.mu unless this handle is closed.
func (s *Store) lock() error {
	select {
	case <-s.closed:
		return errClosed
	default:
	}
	s.db.mu.Lock()
	return nil
}

func (s *Store) unlock() { s.db.mu.Unlock() }

// add indexes a new session row. Called with mu held.
func (d *db) add(r *sessionRow) {
	d.sessions[r.s.ID] = r
	if d.byOwner[r.s.Owner] == nil {
		d.byOwner[r.s.Owner] = map[string]*sessionRow{}
	}
	d.byOwner[r.s.Owner][r.s.ID] = r
}

// remove drops a session row and everything kept for it. Called with mu
// held.
func (d *db) remove(r *sessionRow) {
	id := r.s.ID
	d.setLease(r, persist.Owner{}, time.Time{})
	delete(d.byOwner[r.s.Owner], id)
	if len(d.byOwner[r.s.Owner]) == 0 {
		delete(d.byOwner, r.s.Owner)
	}
	delete(d.sessions, id)
	delete(d.events, id)
	delete(d.snapshots, id)
	delete(d.quarantine, id)
	delete(d.topGen, id)
}

// setLease gives r's lease to o (zero: nobody) until expires, keeping
// byLease in step. Called with mu held.
func (d *db) setLease(r *sessionRow, o persist.Owner, expires time.Time) {
	if old := r.leaseOwner; !old.IsZero() {
		delete(d.byLease[old], r.s.ID)
		if len(d.byLease[old]) == 0 {
			delete(d.byLease, old)
		}
	}
	r.leaseOwner, r.leaseExpires = o, expires
	if !o.IsZero() {
		if d.byLease[o] == nil {
			d.byLease[o] = map[string]*sessionRow{}
		}
		d.byLease[o][r.s.ID] = r
	}
}

// ms keeps what the SQL backends keep: milliseconds, in UTC.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return slices.Clone(b)
}

// trimFront keeps the newest max entries of list.
func trimFront[T any](list []T, max int) []T {
	if len(list) <= max {
		return list
	}
	return slices.Clone(list[len(list)-max:])
}
