package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"termhost/config"
	"termhost/persist"
	"termhost/persist/sqlite"
)

// openStore opens the store the config names: SQLite in the data dir by
// default, or a DSN given with --store.
func openStore(ctx context.Context, cfg config.Config) (persist.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	switch dsn := cfg.Store; {
	case dsn == "":
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "termhost.db"))
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, errors.New("the PostgreSQL store (cluster mode) is not built yet; use the default SQLite store")
	}
	return nil, fmt.Errorf("store %q: want sqlite:PATH or postgres://…", cfg.Store)
}
