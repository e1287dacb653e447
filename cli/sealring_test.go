package cli

import (
	"path/filepath"
	"testing"
	"time"

	"termhost/config"
	"termhost/persist/sqlite"
	"termhost/seal"
)

// Two nodes on one store without seal_keys seal with the first node's
// ring: a seal made by one opens on the other.
func TestShareRingAcrossNodes(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shared.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rings [2]*seal.Ring
	for i := range rings {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		if _, err := sealRing(cfg); err != nil { // makes this node's own ring first
			t.Fatal(err)
		}
		if rings[i], err = shareRing(t.Context(), cfg, st); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	sealed, err := rings[0].Seal("login", []byte("alice"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rings[1].Open("login", sealed); err != nil || string(got) != "alice" {
		t.Fatalf("node 1 opens node 0's seal: %q, %v", got, err)
	}
}
