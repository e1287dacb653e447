// Package postgres is the cluster store (SPEC §6): persist.Store on
// PostgreSQL through pgx/v5's pool. Any number of nodes open the same
// database; leases are judged by the database's clock, the per-user session
// cap and the first-admin rule are decided under transaction-scoped advisory
// locks, and the Notifier is LISTEN/NOTIFY on a dedicated connection.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"termhost/persist"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrations is where migrate reads migrations/*.sql (a test swaps it).
var migrations fs.ReadFileFS = embedded

// keepGenerations is how many snapshot generations survive per session
// (the same as persist/sqlite).
const keepGenerations = 3

// defaultMaxConns is the pool size when the DSN does not say
// (pool_max_conns): a node's sessions write concurrently, and pgxpool's own
// default (max(4, cores)) queues them on small machines.
const defaultMaxConns = 16

// migrateLock is the advisory-lock key every node takes before migrating,
// so two nodes starting at once on a fresh database do not race.
const migrateLock = int64(0x7465726d686f7374) // "termhost"

// Store is the PostgreSQL backend of persist.Store. Its methods are safe
// for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time // times the caller leaves zero (event At, document UpdatedAt); leases use the database clock
	hub  *hub             // LISTEN connection, started by the first Listen (notify.go)

	closeOnce sync.Once
}

var _ persist.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx parses it) and brings its schema up to date under an
// advisory lock. The pool holds up to 16 connections unless the DSN sets
// pool_max_conns. The caller closes the Store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	// Fencing needs every acknowledged commit to survive a server crash:
	// with synchronous_commit off, a lease taken just before a crash could
	// vanish and be taken again at the same epoch by another node. Our
	// sessions keep it on whatever the server's default, unless the DSN
	// says otherwise.
	if _, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	// Dead connections (the server restarted) are found by the ping on
	// acquire; the health check drops idle ones sooner.
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect %s: %w", cfg.ConnConfig.Host, err)
	}
	s := &Store{pool: pool, now: time.Now}
	s.hub = newHub(cfg.ConnConfig)
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return s, nil
}

// Close stops the listener connection and closes the pool; it is
// idempotent and ends every channel Listen returned.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.hub.close()
		s.pool.Close()
	})
	return nil
}

// Ping reports whether the database answers (readiness, SPEC §11
// `/readyz`: store reachable); the caller bounds it with ctx.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.pool.Ping(ctx), "ping PostgreSQL")
}

// Pool exposes the connection pool for tests and benchmarks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// migrate applies the embedded migrations the database lacks, in the
// order of their numbers, in one transaction that first takes the advisory
// lock: a second node waits for the first and then finds nothing to do.
// A migration is applied when its number is not recorded, not merely when
// it is above the highest recorded one, so two branches that each added a
// file (007 and 008, merged in either order) both reach every database.
func (s *Store) migrate(ctx context.Context) error {
	files, err := migrationFiles()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INT PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		have := map[int]bool{}
		for _, v := range applied {
			have[int(v)] = true
		}
		for _, m := range files {
			if have[m.version] {
				continue
			}
			body, err := migrations.ReadFile(m.name)
			if err != nil {
				return err
			}
			// No arguments: pgx uses the simple protocol, which runs a
			// whole file of statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name) VALUES($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
}

type migration struct {
	version int
	name    string
}

// migrationFiles lists migrations/NNN_what.sql by number; two files with
// one number are an error.
func migrationFiles() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, name := range names {
		prefix, _, _ := strings.Cut(strings.TrimPrefix(name, "migrations/"), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: a migration's name starts with its number (NNN_)", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s and %s share number %d", other, name, v)
		}
		seen[v] = name
		out = append(out, migration{v, name})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// SchemaVersion returns the number of the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// PostgreSQL error codes the store maps to persist sentinels
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCharNotInRepertoire = "22021" // invalid UTF-8 or a NUL in TEXT
	codeUntranslatable      = "22P05"
)

// ErrBadText is returned for text PostgreSQL cannot store in a TEXT column
// (a NUL byte or invalid UTF-8), where SQLite would have stored it.
var ErrBadText = errors.New("text holds a NUL byte or invalid UTF-8")

// wrap names what failed and maps pgx and server errors to the persist
// sentinels: no rows → ErrNotFound, unique violation → ErrExists, foreign
// key violation → ErrNotFound. The original error stays in the chain.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, persist.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%s: %w (%w)", what, persist.ErrExists, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("%s: %w (%w)", what, persist.ErrNotFound, err)
		case codeCharNotInRepertoire, codeUntranslatable:
			return fmt.Errorf("%s: %w (%w)", what, ErrBadText, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ms and fromMS convert times to the BIGINT milliseconds the tables hold
// (0 for the zero time), as persist/sqlite does.
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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// querier is what a pool and a transaction share, so a helper runs on either.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// oneRow turns "no row changed" into ErrNotFound.
func oneRow(tag pgconn.CommandTag, err error, what, id string) error {
	if err != nil {
		return wrap(err, "%s %q", what, id)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %q: %w", what, id, persist.ErrNotFound)
	}
	return nil
}

// advisoryKey is the bigint lock key of a name, for pg_advisory_xact_lock.
const advisoryKey = `hashtextextended($1, 0)`
