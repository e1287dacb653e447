// Package pgtest runs a throwaway PostgreSQL server for a test binary
// (issue 10: real components, started by the tests themselves). One server
// per binary, under a temp dir, on a free 127.0.0.1 port, fsync off; each
// caller gets a database of its own. A test package wires it with
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and calls DSN(t) (a fresh database) or Shared(t) (the server, for fault
// tests that stop and start it). Without PostgreSQL binaries the tests skip
// with a message; with TERMHOST_E2E=1 (CI) they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries means no initdb/pg_ctl pair was found (Debian's package puts
// them in /usr/lib/postgresql/VERSION/bin, not on PATH).
var ErrNoBinaries = errors.New("PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH")

// startTimeout bounds initdb and every pg_ctl call.
const startTimeout = 60 * time.Second

// Server is one throwaway PostgreSQL cluster. Its methods are safe for
// concurrent use; Stop, Start and Restart let fault tests take the database
// away and bring it back on the same port with the same data.
type Server struct {
	bin     string // directory holding initdb, pg_ctl
	dir     string // temp root: data/, sock/, log
	port    int
	runAsPG bool // running as root: every command goes through runuser -u postgres

	mu      sync.Mutex // guards running
	running bool
}

// FindBinaries returns the directory of initdb and pg_ctl: the newest
// /usr/lib/postgresql/*/bin, else the one on PATH; ErrNoBinaries.
func FindBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// New creates and starts a server: initdb in a new temp dir (owned by the
// postgres account when running as root, since initdb refuses root), then
// pg_ctl start on a free loopback port. The caller stops it with Close.
func New(ctx context.Context) (*Server, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, runAsPG: os.Geteuid() == 0}
	if s.dir, err = os.MkdirTemp("", "termhost-pg-"); err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	if err := s.setup(ctx); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	// A free port can be taken between the probe and the start: try a few.
	for try := 0; ; try++ {
		if s.port, err = freePort(); err == nil {
			if err = s.Start(); err == nil {
				return s, nil
			}
		}
		if try == 2 {
			os.RemoveAll(s.dir)
			return nil, err
		}
	}
}

func (s *Server) setup(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.dir, "sock"), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if s.runAsPG {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs the postgres account (initdb refuses root): %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		for _, p := range []string{s.dir, filepath.Join(s.dir, "sock")} {
			if err := os.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("pgtest: chown %s to postgres: %w", p, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	out, err := s.command(ctx, "initdb", "-D", s.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// command runs a PostgreSQL tool as the postgres account when we are root.
func (s *Server) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, tool)
	if s.runAsPG {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// Start starts the server (again) on its port with its data; a no-op when
// it runs. It returns once the server accepts connections (pg_ctl -w).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	opts := strings.Join([]string{
		"-p", strconv.Itoa(s.port),
		"-k", filepath.Join(s.dir, "sock"),
		"-c listen_addresses=127.0.0.1",
		// fsync off only risks data on an OS crash; a commit must still
		// reach the WAL before it is acknowledged (synchronous_commit
		// stays on), or the outage tests' immediate stop — a crash of
		// the server — would lose acknowledged writes such as a lease.
		"-c fsync=off", "-c full_page_writes=off",
		"-c max_connections=300",
	}, " ")
	out, err := s.command(ctx, "pg_ctl", "-D", s.dataDir(), "-l", filepath.Join(s.dir, "log"),
		"-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		logTail, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start on port %d: %w\n%s\n%s", s.port, err, out, tail(logTail, 2000))
	}
	s.running = true
	return nil
}

// Stop stops the server at once (pg_ctl stop -m immediate: clients see
// their connections drop, as with a crash); a no-op when stopped.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := s.command(ctx, "pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	s.running = false
	return nil
}

// Restart stops the server at once and starts it again on the same port.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DSN is the URL of database db as the superuser postgres (trust auth).
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// CreateDatabase creates a new empty database named t_<random> and returns
// its name.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	return s.CreateDatabaseFrom(ctx, "")
}

// CreateDatabaseFrom creates a new database named t_<random> as a copy of
// template ("" for PostgreSQL's empty template1), which must have no open
// connections, and returns its name. On PostgreSQL 15 and later the copy
// is a file copy (STRATEGY FILE_COPY): with fsync off it took half the
// time of the default WAL_LOG, which writes the template through the WAL.
func (s *Server) CreateDatabaseFrom(ctx context.Context, template string) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	sql := "CREATE DATABASE " + name
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if version(s.bin) == 0 || version(s.bin) >= 15 {
		sql += " STRATEGY FILE_COPY"
	}
	return name, s.admin(ctx, sql)
}

// DropDatabase drops db, closing whatever connections still use it.
func (s *Server) DropDatabase(ctx context.Context, db string) error {
	return s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
}

func (s *Server) admin(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// shared is the one server of this test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns this test binary's server, starting it on first use. Without
// binaries it skips tb, or fails it under TERMHOST_E2E=1; a server that does
// not start fails tb. Stop it with Main (or Cleanup) when the binary ends.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = New(context.Background()) })
	if errors.Is(shared.err, ErrNoBinaries) {
		if os.Getenv("TERMHOST_E2E") == "1" {
			tb.Fatalf("TERMHOST_E2E=1 but %v (apt-get install postgresql)", shared.err)
		}
		tb.Skipf("skipping: %v (apt-get install postgresql, or set TERMHOST_E2E=1 to make this a failure)", shared.err)
	}
	if shared.err != nil {
		tb.Fatalf("start PostgreSQL: %v", shared.err)
	}
	return shared.srv
}

// DSN creates a fresh database on the shared server and returns its URL;
// the database is dropped when tb ends (after cleanups registered later,
// such as closing a store, have run).
func DSN(tb testing.TB) string {
	tb.Helper()
	return DSNFrom(tb, "")
}

// templates are this binary's prepared template databases, by name.
var templates struct {
	mu sync.Mutex
	m  map[string]string // name → database; guarded by mu
}

// Template returns the database prepared once per test binary under name:
// the first call creates it and runs prepare on its DSN (which must leave
// no connection open, e.g. open a store to migrate it and close it);
// later calls return it. Use it with DSNFrom, so that each test gets a
// copy of an already-migrated database instead of migrating its own.
func Template(tb testing.TB, name string, prepare func(ctx context.Context, dsn string) error) string {
	tb.Helper()
	srv := Shared(tb)
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if db, ok := templates.m[name]; ok {
		return db
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	db, err := srv.CreateDatabase(ctx)
	if err != nil {
		tb.Fatalf("create template %s: %v", name, err)
	}
	if err := prepare(ctx, srv.DSN(db)); err != nil {
		tb.Fatalf("prepare template %s: %v", name, err)
	}
	if templates.m == nil {
		templates.m = map[string]string{}
	}
	templates.m[name] = db
	return db
}

// DSNFrom is DSN with a copy of template (see Template; "" for an empty
// database).
func DSNFrom(tb testing.TB, template string) string {
	tb.Helper()
	srv := Shared(tb)
	db, err := srv.CreateDatabaseFrom(context.Background(), template)
	if err != nil {
		tb.Fatalf("create database from %s: %v", template, err)
	}
	tb.Cleanup(func() {
		if err := srv.Start(); err != nil {
			tb.Errorf("restart PostgreSQL to drop %s: %v", db, err)
			return
		}
		if err := srv.DropDatabase(context.Background(), db); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})
	return srv.DSN(db)
}

// reusable holds databases whose tests ended, emptied, by template.
var reusable struct {
	mu   sync.Mutex
	free map[string][]string // template → databases; guarded by mu
}

// ReusableDSN is DSNFrom for suites that only read and write rows (no
// schema changes): when tb ends, the database is emptied (every table
// but keep truncated, sequences restarted, stray connections ended) and
// handed to the next caller with the same template, instead of being
// dropped and a new copy made. That is several times cheaper per test.
// A database that cannot be emptied is dropped.
func ReusableDSN(tb testing.TB, template string, keep ...string) string {
	tb.Helper()
	srv := Shared(tb)
	reusable.mu.Lock()
	var db string
	if list := reusable.free[template]; len(list) > 0 {
		db, reusable.free[template] = list[len(list)-1], list[:len(list)-1]
	}
	reusable.mu.Unlock()
	if db == "" {
		var err error
		if db, err = srv.CreateDatabaseFrom(context.Background(), template); err != nil {
			tb.Fatalf("create database from %s: %v", template, err)
		}
	}
	tb.Cleanup(func() {
		if err := srv.Start(); err != nil {
			tb.Errorf("restart PostgreSQL to empty %s: %v", db, err)
			return
		}
		if err := srv.empty(context.Background(), db, keep); err != nil {
			tb.Logf("empty %s for reuse: %v; dropping it", db, err)
			if err := srv.DropDatabase(context.Background(), db); err != nil {
				tb.Errorf("drop database: %v", err)
			}
			return
		}
		reusable.mu.Lock()
		if reusable.free == nil {
			reusable.free = map[string][]string{}
		}
		reusable.free[template] = append(reusable.free[template], db)
		reusable.mu.Unlock()
	})
	return srv.DSN(db)
}

// empty ends other connections to db and truncates its tables but keep.
func (s *Server) empty(ctx context.Context, db string, keep []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, `SET lock_timeout = '5s'`); err != nil {
		return err
	}
	rows, err := c.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND NOT (tablename = ANY($1))`, keep)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		return err
	}
	_, err = c.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" RESTART IDENTITY CASCADE")
	return err
}

// Cleanup stops the shared server, if one was started, and removes its files.
func Cleanup() error {
	if shared.srv == nil {
		return nil
	}
	return shared.srv.Close()
}

// Main runs the tests of m and then stops the shared server; use it as
// os.Exit(pgtest.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if err := Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
