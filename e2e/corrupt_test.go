package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/persist/sqlite"
)

// Done-when 5, last part: a corrupted newest snapshot is not loaded; the
// previous generation is, and the server logs why.
func TestSSHCorruptSnapshotFallsBack(t *testing.T) {
	s := startServer(t, "")
	key := keyFile(t)
	tm := attach(t, s, key, "frank")
	tm.typeText("first")
	tm.waitFor("first")
	time.Sleep(400 * time.Millisecond) // one generation holds "first"
	tm.typeText(" second")
	tm.waitFor("first second")
	time.Sleep(400 * time.Millisecond) // the next holds "first second"
	s.stop()

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(s.dataDir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.DB().ExecContext(ctx, `UPDATE snapshots SET data = substr(data, 1, length(data) - 3) || X'FFFFFF' WHERE gen = (SELECT MAX(gen) FROM snapshots)`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupted %d snapshots, want 1", n)
	}
	store.Close()

	s.restart()
	again := attach(t, s, key, "frank")
	screen := again.waitFor("first")
	if strings.Contains(screen, "second") {
		t.Fatalf("the corrupt generation was loaded:\n%s", screen)
	}
	if !strings.Contains(s.errOut.String(), "snapshot generations unreadable") || !strings.Contains(s.errOut.String(), "checksum") {
		t.Fatalf("fallback not logged:\n%s", s.errOut.String())
	}
}
