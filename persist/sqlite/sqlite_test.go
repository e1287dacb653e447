package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/persisttest"
	"termhost/persist/sqlite"
)

// TestConformance runs the suite; Reopen opens the same file again (its
// own *sql.DB, the shared in-process notifier hub), as a second node would.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[persist.Store]string{}
	persisttest.Run(t, persisttest.Backend{
		Open: func(t *testing.T) persist.Store {
			path := filepath.Join(t.TempDir(), "termhost.db")
			s := open(t, path)
			mu.Lock()
			paths[s] = path
			mu.Unlock()
			return s
		},
		Reopen: func(t *testing.T, first persist.Store) persist.Store {
			mu.Lock()
			path := paths[first]
			mu.Unlock()
			return open(t, path)
		},
	})
}

// open opens path; the caller closes the store.
func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return s
}

func userVersion(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	var v int
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("PRAGMA user_version: %v", err)
	}
	return v
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termhost.db")
	s := open(t, path)
	ctx := t.Context()
	version := userVersion(t, s)
	if version < 1 {
		t.Fatalf("user_version after first open = %d, want the migration count (≥ 1)", version)
	}
	u := persist.User{Name: "alice", Role: persist.RoleAdmin, Keys: []string{"ssh-ed25519 AAAA"}, CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	sess := persist.Session{ID: "reopenreopenreopenreopen01", Owner: "alice", Name: "work", State: persist.StateDetached, CreatedAt: time.Now()}
	if err := s.CreateSession(ctx, sess, 0); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if _, err := s.PutSnapshot(ctx, sess.ID, persist.Fence{}, []byte("ws\x00\xff")); err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopen twice: the migrations must not run again, nor fail.
	for i := range 2 {
		s := open(t, path)
		if got := userVersion(t, s); got != version {
			t.Errorf("reopen %d: user_version = %d, want %d", i, got, version)
		}
		if _, err := s.GetUser(ctx, "alice"); err != nil {
			t.Errorf("reopen %d: GetUser: %v", i, err)
		}
		snaps, err := s.Snapshots(ctx, sess.ID)
		if err != nil || len(snaps) != 1 || string(snaps[0].Data) != "ws\x00\xff" {
			t.Errorf("reopen %d: Snapshots = %+v, %v; want the one generation", i, snaps, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestJournalModeWAL(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "termhost.db"))
	t.Cleanup(func() { s.Close() })
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

// TestConcurrentOpen opens one fresh file from several goroutines at once,
// as `termhost serve` and a `termhost user add` started together do: exactly
// one of them migrates, none fails.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termhost.db")
	const n = 6
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		stores[i].Close()
	}
}

// TestPathWithURICharacters opens a data dir whose name holds characters
// that mean something in a file: URI.
func TestPathWithURICharacters(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"space", "my data"},
		{"hash", "data#1"},
		{"question mark", "what?mode=ro"},
		{"percent", "100%20sure"},
		{"ampersand and equals", "a&_pragma=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.dir)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "termhost.db")
			s := open(t, path)
			err := s.CreateUser(t.Context(), persist.User{Name: "alice", Role: persist.RoleUser})
			s.Close()
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database not at %q: %v", path, err)
			}
			s = open(t, path)
			defer s.Close()
			if _, err := s.GetUser(t.Context(), "alice"); err != nil {
				t.Fatalf("GetUser after reopen: %v", err)
			}
		})
	}
}

// TestRelativePath opens the default kind of path, relative to the working
// directory (./data/termhost.db).
func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("data", 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, filepath.Join("data", "termhost.db"))
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "termhost.db")); err != nil {
		t.Fatalf("database not in ./data: %v", err)
	}
}

// The notifier refuses what PostgreSQL could not carry and takes node ids
// as host names spell them.
func TestNotifierChannels(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "termhost.db"))
	defer s.Close()
	tests := []struct {
		name    string
		channel string
		payload string
		bad     bool
	}{
		{name: "host name with a dash", channel: persist.NodeChannel("web-01.Example")},
		{name: "63 bytes", channel: strings.Repeat("c", 63)},
		{name: "64 bytes", channel: strings.Repeat("c", 64), bad: true},
		{name: "empty", channel: "", bad: true},
		{name: "space", channel: "termhost chat", bad: true},
		{name: "quote", channel: `termhost"chat`, bad: true},
		{name: "1000-byte payload", channel: persist.ChatChannel, payload: strings.Repeat("p", 1000)},
		{name: "1001-byte payload", channel: persist.ChatChannel, payload: strings.Repeat("p", 1001), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Notify(t.Context(), tt.channel, tt.payload)
			if got := errors.Is(err, sqlite.ErrBadChannel); got != tt.bad {
				t.Fatalf("Notify(%q, %d bytes) = %v, want bad=%v", tt.channel, len(tt.payload), err, tt.bad)
			}
		})
	}
}

// BenchmarkRenewLeases: one node's renewal at 10,000 sessions (issue 10).
func BenchmarkRenewLeases(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "termhost.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			persisttest.BenchRenewLeases(b, s, n)
		})
	}
}

// BenchmarkPutSnapshot: fenced 4 KiB snapshot writes, one session and 32
// at once (issue 10: snapshot writes per second, SQLite vs PostgreSQL).
func BenchmarkPutSnapshot(b *testing.B) {
	for _, sessions := range []int{1, 32} {
		b.Run(fmt.Sprint(sessions, "sessions"), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "termhost.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			persisttest.BenchPutSnapshot(b, s, sessions)
		})
	}
}

// BenchmarkListSessions100k: ListSessions with 100,000 stored (the store's
// share of `sessions list --json`); rows written by one INSERT … SELECT.
func BenchmarkListSessions100k(b *testing.B) {
	const n = 100_000
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "termhost.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB().ExecContext(b.Context(), `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO sessions(id, owner, name, state, node, created_at, last_input_at, epoch, apps)
		SELECT printf('bench%021d', i), 'user' || (i % 1000), 's' || i,
			CASE i % 3 WHEN 0 THEN 'attached' WHEN 1 THEN 'detached' ELSE 'hibernated' END,
			'node-' || (i % 3), 1700000000000 + i, 1700000000000 + i, 1,
			'[{"app":"notes","documents":["d1","d2"]},{"app":"chat","documents":[]}]'
		FROM seq`, n); err != nil {
		b.Fatalf("fill: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := s.ListSessions(b.Context(), persist.SessionFilter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != n {
			b.Fatalf("ListSessions = %d, want %d", len(got), n)
		}
	}
	b.ReportMetric(n, "sessions/op")
}

// The in-process notifier is per database file: handles on one file (the
// path spelled differently) share it, another file does not hear it, and
// closing a handle ends its own listeners only.
func TestNotifierScope(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "termhost.db")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	a := open(t, path)
	defer a.Close()
	b := open(t, filepath.Join(dir, "sub", "..", "termhost.db"))
	other := open(t, filepath.Join(dir, "other.db"))
	defer other.Close()

	fromA, err := a.Listen(t.Context(), persist.ChatChannel)
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := b.Listen(t.Context(), persist.ChatChannel)
	if err != nil {
		t.Fatal(err)
	}
	fromOther, err := other.Listen(t.Context(), persist.ChatChannel)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Notify(t.Context(), persist.ChatChannel, "7"); err != nil {
		t.Fatal(err)
	}
	// Notify delivers before it returns (a buffered send under the hub's lock).
	for name, ch := range map[string]<-chan string{"a": fromA, "b": fromB} {
		select {
		case p := <-ch:
			if p != "7" {
				t.Errorf("%s got %q, want 7", name, p)
			}
		default:
			t.Errorf("%s got nothing from a's Notify", name)
		}
	}
	select {
	case p := <-fromOther:
		t.Errorf("a listener on another file got %q", p)
	default:
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-fromB:
		if ok {
			t.Fatal("b's listener got a payload after b closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's listener still open 10s after b closed")
	}
	if err := b.Notify(t.Context(), persist.ChatChannel, "x"); err == nil {
		t.Fatal("Notify on a closed handle succeeded")
	}
	if _, err := b.Listen(t.Context(), persist.ChatChannel); err == nil {
		t.Fatal("Listen on a closed handle succeeded")
	}
	if err := a.Notify(t.Context(), persist.ChatChannel, "8"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-fromA:
		if p != "8" {
			t.Fatalf("a got %q, want 8", p)
		}
	default:
		t.Fatal("a's listener ended with b")
	}
}
