package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"termhost/config"
	"termhost/persist"
	"termhost/persist/memory"
	"termhost/persist/postgres"
	"termhost/persist/sqlite"
)

// ErrNoStore means a command other than serve found no store to open: only
// serve creates one, so a mistyped or missing --data-dir is an error rather
// than a fresh empty database.
var ErrNoStore = errors.New("no termhost store")

// openStore opens the store the config names: SQLite in the data dir by
// default, a DSN given with --store, or "memory" (SPEC §10: serve only,
// nothing written to disk, not even the data dir). Only serve passes
// create; every other command fails with ErrNoStore where there is none.
func openStore(ctx context.Context, cfg config.Config, create bool) (persist.Store, error) {
	if inMemory(cfg) {
		if !create {
			return nil, fmt.Errorf("%w: store memory lives inside `termhost serve`; run admin commands over SSH (ssh admin@host sessions list)", ErrNoStore)
		}
		return memory.New(nil), nil
	}
	if create {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	open := func(path string) (persist.Store, error) {
		if !create {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w at %s: start `termhost serve` once (it creates the store), or pass --data-dir", ErrNoStore, path)
			}
		}
		return sqlite.Open(ctx, path)
	}
	switch dsn := cfg.Store; {
	case dsn == "":
		return open(filepath.Join(cfg.DataDir, "termhost.db"))
	case strings.HasPrefix(dsn, "sqlite:"):
		return open(strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("store %q: want sqlite:PATH, postgres://… or memory", cfg.Store)
}
