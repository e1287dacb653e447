package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"termhost/seal"
)

// TestKeysCommand: `termhost keys` on DATA/secrets — list, rotate, retire,
// generate — and on a ring from config seal_keys, which it lists but does
// not edit. Secrets never appear in list output.
func TestKeysCommand(t *testing.T) {
	dir := t.TempDir()
	entry := "0a0b0c0d:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgFile, []byte("seal_keys: [\""+entry+"\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(append(append([]string{"keys"}, args...), "--data-dir", dir), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	type listed struct {
		ID     string
		Seals  bool
		Source string
	}
	list := func(t *testing.T, extra ...string) []listed {
		t.Helper()
		code, out, errOut := keys(append([]string{"list", "--json"}, extra...)...)
		if code != 0 {
			t.Fatalf("keys list: %d %s", code, errOut)
		}
		var got []listed
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("keys list --json: %v\n%s", err, out)
		}
		return got
	}
	var first, second string
	tests := []struct {
		name   string
		args   func() []string
		code   int
		out    string // substring of stdout or stderr
		keys   int    // ring size after, -1: no ring yet
		sealer func() string
	}{
		{"list before any ring", func() []string { return []string{"list"} }, 1, "no key ring", -1, nil},
		{"no verb", func() []string { return nil }, 2, "usage", -1, nil},
		{"rotate makes the ring", func() []string { return []string{"rotate"} }, 0, "new sealing key", 1, nil},
		{"rotate again", func() []string { return []string{"rotate"} }, 0, "older keys still open", 2, nil},
		{"retire unknown", func() []string { return []string{"retire", "ffffffff"} }, 1, "no such key", 2, nil},
		{"retire the older key", func() []string { return []string{"retire", first} }, 0, "no longer open", 1, func() string { return second }},
		{"retire the last key", func() []string { return []string{"retire", second} }, 1, "last key", 1, func() string { return second }},
		{"rotate with seal_keys refused", func() []string { return []string{"rotate", "--config", cfgFile} }, 1, "seal_keys", 1, nil},
		{"retire with seal_keys refused", func() []string { return []string{"retire", "0a0b0c0d", "--config", cfgFile} }, 1, "seal_keys", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := keys(tt.args()...)
			if code != tt.code || !strings.Contains(out+errOut, tt.out) {
				t.Fatalf("keys %v: %d %q%q; want %d with %q", tt.args(), code, out, errOut, tt.code, tt.out)
			}
			if tt.keys < 0 {
				return
			}
			got := list(t)
			if len(got) != tt.keys || !got[0].Seals || (len(got) > 1 && got[1].Seals) {
				t.Fatalf("after keys %v: %+v; want %d keys, the first sealing", tt.args(), got, tt.keys)
			}
			switch {
			case first == "":
				first = got[0].ID
			case second == "" && len(got) == 2:
				second = got[0].ID
			}
			if tt.sealer != nil && got[0].ID != tt.sealer() {
				t.Fatalf("sealing key %s, want %s", got[0].ID, tt.sealer())
			}
		})
	}
	t.Run("ring file modes and no secret in list", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{filepath.Join(dir, "secrets"): 0o700, filepath.Join(dir, "secrets", seal.KeyFile): 0o600} {
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != want {
				t.Fatalf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, want)
			}
		}
		ks, _ := seal.ReadKeys(filepath.Join(dir, "secrets"))
		_, out, _ := keys("list")
		_, outJSON, _ := keys("list", "--json")
		secret := seal.FormatKey(ks[0])[9:]
		if strings.Contains(out+outJSON, secret) {
			t.Fatal("keys list prints a secret")
		}
	})
	t.Run("list seal_keys from the config", func(t *testing.T) {
		got := list(t, "--config", cfgFile)
		if len(got) != 1 || got[0].ID != "0a0b0c0d" || got[0].Source != "config seal_keys" {
			t.Fatalf("keys list with seal_keys: %+v", got)
		}
	})
	t.Run("generate prints a seal_keys entry", func(t *testing.T) {
		code, out, _ := keys("generate")
		if _, err := seal.ParseKeys([]string{strings.TrimSpace(out)}); code != 0 || err != nil {
			t.Fatalf("keys generate: %d %q: %v", code, out, err)
		}
	})
}
