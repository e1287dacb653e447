package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealKeys: web_login and seal_keys (SPEC §10) from the file, the
// environment and their validation errors, which name the key but never
// print a secret.
func TestSealKeys(t *testing.T) {
	const k1 = "0a0b0c0d:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	const k2 = "0a0b0c0e:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
	if d := Default(); d.WebLogin != "server" || len(d.SealKeys) != 0 {
		t.Fatalf("defaults web_login %q seal_keys %v; want server and none", d.WebLogin, d.SealKeys)
	}
	tests := []struct {
		name  string
		yaml  string
		env   string // TERMHOST_SEAL_KEYS
		login string
		keys  int
		err   string
	}{
		{"defaults", "", "", "server", 0, ""},
		{"client with a list", "web_login: client\nseal_keys:\n  - " + k1 + "\n  - " + k2 + "\n", "", "client", 2, ""},
		{"one key as a scalar", "seal_keys: " + k1 + "\n", "", "server", 1, ""},
		{"env, comma-separated", "", k1 + "," + k2, "server", 2, ""},
		{"bad mode", "web_login: cookie\n", "", "", 0, "web_login"},
		{"short secret", "seal_keys: [\"0a0b0c0d:c2VjcmV0\"]\n", "", "", 0, "secret is 6 bytes"},
		{"bad id", "seal_keys: [\"KEY1:" + k1[9:] + "\"]\n", "", "", 0, "seal_keys"},
		{"no colon", "seal_keys: [\"" + k1[9:] + "\"]\n", "", "", 0, "seal_keys[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.env != "" {
				t.Setenv("TERMHOST_SEAL_KEYS", tt.env)
			}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			f := Register(fs, true)
			if err := fs.Parse([]string{"--config", file, "--data-dir", t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			c, err := f.Resolve()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one naming %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "AQEBAQ") || strings.Contains(err.Error(), "c2VjcmV0") {
					t.Fatalf("error prints a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.WebLogin != tt.login || len(c.SealKeys) != tt.keys {
				t.Fatalf("web_login %q, %d seal keys; want %q, %d", c.WebLogin, len(c.SealKeys), tt.login, tt.keys)
			}
		})
	}
}
