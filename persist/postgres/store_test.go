package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"termhost/internal/pgtest"
	"termhost/persist"
	"termhost/persist/postgres"
)

// migrationCount is the number of files in migrations/.
func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}

// TestConcurrentOpen: several nodes open one fresh database at once; the
// advisory lock lets exactly one migrate, none fails, and a later open
// applies nothing again.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 6
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		stores[i].Close()
	}
	s := open(t, dsn)
	defer s.Close()
	migrationCount := migrationCount(t)
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != migrationCount {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, migrationCount)
	}
	var applied int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != migrationCount {
		t.Fatalf("schema_migrations has %d rows (%v), want %d: a migration ran twice or not at all", applied, err, migrationCount)
	}
}

// TestErrorMapping: server errors reach callers as persist sentinels, with
// the pgx error still in the chain for logs.
func TestErrorMapping(t *testing.T) {
	s := open(t, freshDSN(t))
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		op       func() error
		sentinel error
		pgCode   string // "" when no server error is involved
	}{
		{"unique violation", func() error {
			return s.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser})
		}, persist.ErrExists, "23505"},
		{"no rows", func() error { _, err := s.GetUser(ctx, "nobody"); return err }, persist.ErrNotFound, ""},
		{"NUL in text", func() error {
			_, err := s.CreateDocument(ctx, persist.Document{Owner: "alice", Title: "t", Body: "a\x00b"})
			return err
		}, postgres.ErrBadText, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v does not wrap %v", err, tt.sentinel)
			}
			var pgErr *pgconn.PgError
			if tt.pgCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tt.pgCode) {
				t.Fatalf("error %v does not carry PostgreSQL code %s", err, tt.pgCode)
			}
		})
	}
}

// TestLeaseExpiryByDatabaseClock: a lease taken with a short ttl is held
// until the database's clock passes it, then another owner takes it with
// the epoch bumped; the process clock plays no part.
func TestLeaseExpiryByDatabaseClock(t *testing.T) {
	s := open(t, freshDSN(t))
	defer s.Close()
	ctx := t.Context()
	r := persist.Session{ID: "lease0000000000000000000001", Owner: "alice", Name: "w", State: persist.StateAttached, CreatedAt: time.Now()}
	if err := s.CreateSession(ctx, r, 0); err != nil {
		t.Fatal(err)
	}
	a, b := persist.Owner{Node: "a", Boot: "1"}, persist.Owner{Node: "b", Boot: "1"}
	la, err := s.AcquireLease(ctx, r.ID, a, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, r.ID, b, time.Minute); !errors.Is(err, persist.ErrLeaseHeld) {
		t.Fatalf("AcquireLease by b during a's lease = %v, want ErrLeaseHeld", err)
	}
	// Wait on the database clock, not ours.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var past bool
		if err := s.Pool().QueryRow(ctx, `SELECT termhost_now_ms() > $1`, la.Expires.UnixMilli()).Scan(&past); err != nil {
			t.Fatal(err)
		}
		if past {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("database clock never passed the lease's expiry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	lb, err := s.AcquireLease(ctx, r.ID, b, time.Minute)
	if err != nil || lb.Epoch != la.Epoch+1 {
		t.Fatalf("AcquireLease by b after expiry = %+v, %v; want epoch %d", lb, err, la.Epoch+1)
	}
}

// TestStealOrdersAgainstWrites races fenced snapshot writes of the owner
// against a steal by another handle: every write either landed before the
// steal (its generation carries the old epoch) or was refused with
// ErrLeaseLost; none lands after (SPEC §6 self-fencing, the split-brain rule).
func TestStealOrdersAgainstWrites(t *testing.T) {
	dsn := freshDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()
	r := persist.Session{ID: "steal0000000000000000000001", Owner: "alice", Name: "w", State: persist.StateAttached, CreatedAt: time.Now()}
	if err := a.CreateSession(ctx, r, 0); err != nil {
		t.Fatal(err)
	}
	la, err := a.AcquireLease(ctx, r.ID, persist.Owner{Node: "a", Boot: "1"}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var landed, refused int
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 2000 {
			_, err := a.PutSnapshot(ctx, r.ID, persist.Fence{Node: "a", Epoch: la.Epoch}, fmt.Appendf(nil, "a %d", i))
			switch {
			case err == nil:
				landed++
			case errors.Is(err, persist.ErrLeaseLost):
				refused++
				return
			default:
				t.Errorf("PutSnapshot: %v", err)
				return
			}
		}
	})
	// b steals as soon as a's short lease lapses.
	var lb persist.Lease
	for {
		lb, err = b.AcquireLease(ctx, r.ID, persist.Owner{Node: "b", Boot: "1"}, time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, persist.ErrLeaseHeld) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if refused != 1 {
		t.Fatalf("the old owner's writes were never refused (%d landed)", landed)
	}
	if _, err := b.PutSnapshot(ctx, r.ID, persist.Fence{Node: "b", Epoch: lb.Epoch}, []byte("b")); err != nil {
		t.Fatal(err)
	}
	snaps, err := b.Snapshots(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: b's generation, then only a's older ones.
	if snaps[0].Epoch != lb.Epoch {
		t.Fatalf("newest generation has epoch %d, want the thief's %d", snaps[0].Epoch, lb.Epoch)
	}
	for _, x := range snaps[1:] {
		if x.Epoch != la.Epoch || x.Gen > snaps[0].Gen {
			t.Fatalf("generation %d epoch %d after the steal's", x.Gen, x.Epoch)
		}
	}
}

// recv waits for a payload on ch, up to d.
func recv(ch <-chan string, d time.Duration) (string, bool) {
	select {
	case p, ok := <-ch:
		return p, ok
	case <-time.After(d):
		return "", false
	}
}

// TestListenWhileWaiting: a channel added while the listener connection is
// already waiting for notifications is served at once, on the same
// connection.
func TestListenWhileWaiting(t *testing.T) {
	s := open(t, freshDSN(t))
	defer s.Close()
	ctx := t.Context()
	first, err := s.Listen(ctx, "termhost.first")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		channel string
	}{
		{"dotted", "termhost.second"},
		{"node id with a dash", persist.NodeChannel("node-b")},
		{"upper case kept", "termhost.Node.X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := s.Listen(ctx, tt.channel)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Notify(ctx, tt.channel, "hello "+tt.name); err != nil {
				t.Fatal(err)
			}
			if p, ok := recv(ch, 10*time.Second); !ok || p != "hello "+tt.name {
				t.Fatalf("got %q, %v; want the payload", p, ok)
			}
		})
	}
	if err := s.Notify(ctx, "termhost.first", "still"); err != nil {
		t.Fatal(err)
	}
	if p, ok := recv(first, 10*time.Second); !ok || p != "still" {
		t.Fatalf("first channel after others were added: %q, %v", p, ok)
	}
}

// TestOutage: PostgreSQL restarted (SPEC §6 faults). The pool serves again
// once the server is back, and the listener reconnects by itself:
// notifications sent after the restart reach a Listen made before it.
func TestOutage(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := freshDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ch, err := a.Listen(ctx, persist.ChatChannel)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetUser(ctx, "nobody"); errors.Is(err, persist.ErrNotFound) || err == nil {
		t.Fatalf("GetUser with the database down = %v, want a connection error", err)
	}
	pingCtx, cancelPing := context.WithTimeout(ctx, 5*time.Second)
	if err := b.Ping(pingCtx); err == nil {
		t.Fatal("Ping with the database down succeeded")
	}
	cancelPing()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	// The first statement on a pooled connection may find it dead; the
	// caller retries (as the sessions layer does), within a bound.
	retry := func(op func() error) error {
		var err error
		for range 50 {
			if err = op(); err == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	}
	if err := retry(func() error { return b.CreateUser(ctx, persist.User{Name: "after", Role: persist.RoleUser}) }); err != nil {
		t.Fatalf("CreateUser after the restart: %v", err)
	}
	// Notify until the listener has reconnected and hears one.
	got := false
	for i := 0; i < 100 && !got; i++ {
		if err := b.Notify(ctx, persist.ChatChannel, fmt.Sprint(i)); err != nil {
			continue
		}
		_, got = recv(ch, 100*time.Millisecond)
	}
	if !got {
		t.Fatal("the listener never heard a notification after the restart")
	}
}

// TestCloseEndsListeners: Close closes every channel Listen returned.
func TestCloseEndsListeners(t *testing.T) {
	s := open(t, freshDSN(t))
	ch, err := s.Listen(t.Context(), persist.SessionsChannel)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("got a payload, want the channel closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel still open after Close")
	}
}

// TestListenerSilentDeath: the listener's server process stops answering
// without closing the socket (SIGSTOP: what a partition or a hung server
// looks like). The idle ping notices, the listener reconnects, and
// notifications flow again. Needs to signal the server's processes (root
// or the same user), which pgtest's servers are.
func TestListenerSilentDeath(t *testing.T) {
	restore := postgres.SetListenTimings(300*time.Millisecond, 300*time.Millisecond)
	defer restore()
	s := open(t, freshDSN(t))
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ch, err := s.Listen(ctx, "termhost.silent")
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := s.Pool().QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&pid); err != nil {
		t.Fatalf("find the listener's backend: %v", err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Skipf("cannot stop backend %d: %v", pid, err)
	}
	stopped := time.Now()
	defer func() {
		proc.Signal(syscall.SIGCONT)
		s.Pool().Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid)
	}()
	got := false
	for i := 0; i < 200 && !got; i++ {
		if err := s.Notify(ctx, "termhost.silent", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		_, got = recv(ch, 100*time.Millisecond)
	}
	if !got {
		t.Fatal("no notification after the listener's backend went silent")
	}
	t.Logf("heard again after %v", time.Since(stopped))
}

// TestMigrationsByNumber: a migration is applied when its number is
// missing from the database, even below the highest applied one (two
// branches each added a file and merged in either order); two files with
// one number are refused.
func TestMigrationsByNumber(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	steps := []struct {
		name    string
		files   fstest.MapFS
		wantErr bool
		tables  []string
	}{
		{"first and third", fstest.MapFS{
			"migrations/001_a.sql": file("CREATE TABLE a (x int)"),
			"migrations/003_c.sql": file("CREATE TABLE c (x int)"),
		}, false, []string{"a", "c"}},
		{"second merged later", fstest.MapFS{
			"migrations/001_a.sql": file("CREATE TABLE a (x int)"),
			"migrations/002_b.sql": file("CREATE TABLE b (x int)"),
			"migrations/003_c.sql": file("CREATE TABLE c (x int)"),
		}, false, []string{"a", "b", "c"}},
		{"one number twice", fstest.MapFS{
			"migrations/001_a.sql":     file("CREATE TABLE a (x int)"),
			"migrations/001_again.sql": file("CREATE TABLE again (x int)"),
		}, true, []string{"a", "b", "c"}},
	}
	dsn := pgtest.DSN(t)
	for _, st := range steps {
		restore := postgres.SetMigrations(st.files)
		s, err := postgres.Open(t.Context(), dsn)
		restore()
		if st.wantErr {
			if err == nil {
				s.Close()
				t.Fatalf("%s: Open succeeded, want an error", st.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Open: %v", st.name, err)
		}
		rows, err := s.Pool().Query(t.Context(), `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		s.Close()
		if err != nil || !slices.Equal(got, st.tables) {
			t.Fatalf("%s: tables %q (%v), want %q", st.name, got, err, st.tables)
		}
	}
}

// TestSynchronousCommit: the store's connections keep synchronous_commit
// on even when the database's default is off (fencing relies on
// acknowledged lease commits surviving a crash); a DSN that sets it wins.
func TestSynchronousCommit(t *testing.T) {
	dsn := freshDSN(t)
	s := open(t, dsn)
	if _, err := s.Pool().Exec(t.Context(), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"database default off", dsn, "on"},
		{"DSN says local", dsn + "&synchronous_commit=local", "local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, tt.dsn)
			defer s.Close()
			var got string
			if err := s.Pool().QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&got); err != nil || got != tt.want {
				t.Fatalf("synchronous_commit = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}
