package hostkeys_test

import (
	"path/filepath"
	"testing"

	"termhost/hostkeys"
	"termhost/persist/sqlite"
)

// Two nodes with their own data dirs and one store present the same keys,
// and the second node keeps them in its files.
func TestShareAdoptsTheFirstNodesKeys(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shared.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got [2][]hostkeys.Key
	for i := range got {
		dir := filepath.Join(t.TempDir(), "hostkeys")
		keys, err := hostkeys.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got[i], err = hostkeys.Share(t.Context(), st, keys); err != nil {
			t.Fatalf("node %d: Share: %v", i, err)
		}
		again, err := hostkeys.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		for j := range again {
			if again[j].Fingerprint() != got[i][j].Fingerprint() {
				t.Errorf("node %d: file holds %s, presents %s", i, again[j].Fingerprint(), got[i][j].Fingerprint())
			}
		}
	}
	if len(got[0]) != 2 || len(got[1]) != 2 {
		t.Fatalf("keys: %d and %d, want 2 each", len(got[0]), len(got[1]))
	}
	for j := range got[0] {
		if a, b := got[0][j].Fingerprint(), got[1][j].Fingerprint(); a != b {
			t.Errorf("%s: node 0 presents %s, node 1 %s", got[0][j].Type(), a, b)
		}
	}
}
