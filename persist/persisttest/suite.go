// Package persisttest is the conformance suite for persist.Store: every
// backend (persist/sqlite, later persist/postgres) runs the same Run from its
// own tests, so they all honour one contract.
package persisttest

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"termhost/persist"
)

// opener hands a subtest a fresh, empty store.
type opener func(t *testing.T) persist.Store

// pairOpener hands a subtest two handles on one fresh, empty store: two
// nodes on one database (SPEC §6).
type pairOpener func(t *testing.T) (a, b persist.Store)

// Backend is what a backend's test hands the suite (Teleport's backend
// suite style: a constructor and a second handle on the same store).
type Backend struct {
	// Open returns a fresh, empty store. It is called once per subtest;
	// the suite closes the store when the subtest ends. Cleanups Open
	// registers itself (dropping a database, say) run after that close.
	Open func(t *testing.T) persist.Store
	// Reopen returns a second, independent handle (its own connections)
	// on the database first was opened on, as a second node would open
	// it. The suite closes it before first.
	Reopen func(t *testing.T, first persist.Store) persist.Store
}

// Run runs the suite against backend b.
func Run(t *testing.T, b Backend) {
	closeAtEnd := func(t *testing.T, s persist.Store) persist.Store {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
	fresh := func(t *testing.T) persist.Store {
		t.Helper()
		return closeAtEnd(t, b.Open(t))
	}
	pair := func(t *testing.T) (persist.Store, persist.Store) {
		t.Helper()
		first := fresh(t)
		return first, closeAtEnd(t, b.Reopen(t, first))
	}
	areas := []struct {
		name string
		run  func(t *testing.T, fresh opener)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Snapshots", testSnapshots},
		{"Quarantine", testQuarantine},
		{"DeleteUser", testDeleteUser},
		{"Documents", testDocuments},
		{"Audit", testAudit},
		{"Chat", testChat},
		{"SweepFilters", testSweepFilters},
		{"Concurrency", testConcurrency},
		{"Logins", testLogins},
		{"OrphanEvents", testOrphanEvents},
		{"LoginGen", testLoginGen},
	}
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) { a.run(t, fresh) })
	}
	// The cluster contract (SPEC §6): most cases use two handles.
	clusterAreas := []struct {
		name string
		run  func(t *testing.T, pair pairOpener)
	}{
		{"Leases", testLeases},
		{"Nodes", testNodes},
		{"Requests", testRequests},
		{"Notifier", testNotifier},
		{"Secrets", testSecrets},
		{"Caps", testCaps},
	}
	for _, a := range clusterAreas {
		t.Run(a.name, func(t *testing.T) { a.run(t, pair) })
	}
}

// t0 has nanoseconds and a zone on purpose: backends keep milliseconds
// (or better) and may hand times back in another location.
var t0 = time.Date(2025, time.March, 14, 15, 9, 26, 535_897_932, time.FixedZone("CET", 3600))

// sameMS reports whether a and b are the same instant to the millisecond.
func sameMS(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// newID returns a session-style id: 128 random bits, lowercase base32.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// takeOver makes node the owner of session id as a hand-off does: the
// holder (if another node) releases at its epoch, then node acquires with
// a long lease. It returns the new epoch.
func takeOver(t *testing.T, s persist.Store, id, node string) (int64, error) {
	t.Helper()
	l, err := s.GetLease(t.Context(), id)
	if err != nil {
		return 0, err
	}
	if !l.Owner.IsZero() && l.Owner.Node != node {
		if err := s.ReleaseLease(t.Context(), id, persist.Fence{Node: l.Owner.Node, Epoch: l.Epoch}); err != nil {
			return 0, err
		}
	}
	l, err = s.AcquireLease(t.Context(), id, persist.Owner{Node: node, Boot: "boot-" + node}, time.Hour)
	return l.Epoch, err
}

func noErr(t *testing.T, err error, op string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", op, err)
	}
}

func wantErr(t *testing.T, err, want error, op string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want one wrapping %q", op, err, want)
	}
}
