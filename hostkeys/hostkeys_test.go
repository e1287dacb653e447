package hostkeys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateIsStable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hostkeys")
	first, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Type() != "ssh-ed25519" || first[1].Type() != "ssh-rsa" {
		t.Fatalf("want ed25519 and rsa keys, got %v", first)
	}
	for _, k := range first {
		st, err := os.Stat(k.Path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", k.Path, st.Mode().Perm())
		}
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].Fingerprint() != again[i].Fingerprint() {
			t.Errorf("key %d changed: %s then %s", i, first[i].Fingerprint(), again[i].Fingerprint())
		}
	}
}

func TestCorruptKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ssh_host_ed25519_key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a corrupt host key loaded without error")
	}
}
