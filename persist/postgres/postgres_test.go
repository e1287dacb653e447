package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"termhost/internal/pgtest"
	"termhost/persist"
	"termhost/persist/persisttest"
	"termhost/persist/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open opens dsn; the caller closes the store.
func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// freshDSN is a new database already migrated: a copy of a template
// migrated once per test binary (a copy is several times faster than
// running the migrations in every subtest).
func freshDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSNFrom(t, migrated(t))
}

// reusedDSN is freshDSN for the conformance suite, whose cases only touch
// rows: a database emptied after an earlier case (schema_migrations kept)
// when there is one.
func reusedDSN(t testing.TB) string {
	t.Helper()
	return pgtest.ReusableDSN(t, migrated(t), "schema_migrations")
}

// migrated is the template database, migrated once per test binary.
func migrated(t testing.TB) string {
	return pgtest.Template(t, "termhost_migrated", func(ctx context.Context, dsn string) error {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return err
		}
		return s.Close()
	})
}

// TestConformance runs the suite, each subtest on a database of its own;
// Reopen opens a second pool on the same database, as a second node would.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	dsns := map[persist.Store]string{}
	persisttest.Run(t, persisttest.Backend{
		Open: func(t *testing.T) persist.Store {
			dsn := reusedDSN(t)
			s := open(t, dsn)
			mu.Lock()
			dsns[s] = dsn
			mu.Unlock()
			return s
		},
		Reopen: func(t *testing.T, first persist.Store) persist.Store {
			mu.Lock()
			dsn := dsns[first]
			mu.Unlock()
			return open(t, dsn)
		},
	})
}
