// Package sqlite is the embedded store: one SQLite file in WAL mode, through
// the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"termhost/persist"
)

//go:embed migrations/*.sql
var migrations embed.FS

// keepGenerations is how many snapshot generations survive per session.
const keepGenerations = 3

// Store is the SQLite backend of persist.Store.
type Store struct {
	db  *sql.DB
	now func() time.Time // the store clock: lease expiry, node Seen, request At

	stmts     prepared      // the snapshot write's statements (prepared.go)
	hub       *hub          // notifier shared by every handle on this file (notify.go)
	closed    chan struct{} // closed by Close: ends this handle's listeners
	closeOnce sync.Once
}

var _ persist.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	// The path is escaped: in a file: URI a '?', '#' or '%' in a directory
	// name would otherwise end the path or be decoded, opening another file.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer at a time is what SQLite allows anyway; a single
	// connection avoids SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, now: time.Now, closed: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.stmts.close()
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	h, err := acquireHub(path)
	if err != nil {
		s.stmts.close()
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.hub = h
	return s, nil
}

// Close closes the database and ends this handle's listeners.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.hub.release()
		s.stmts.close()
	})
	return s.db.Close()
}

// DB exposes the handle for tests that need to corrupt data on purpose.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for i, name := range names {
		if err := s.migrateOne(ctx, i+1, name); err != nil {
			return err
		}
	}
	return nil
}

// migrateOne applies migration number version unless the database already
// has it. The version is read inside the (immediate) transaction, so two
// processes opening a fresh file at once cannot both apply it.
func (s *Store) migrateOne(ctx context.Context, version int, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return err
	}
	if have >= version {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	for _, stmt := range strings.Split(string(body), ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
