package cli

import (
	"bytes"
	"strings"
	"testing"
)

// `termhost user --help` lists every subcommand with its own usage and
// flags, `user VERB --help` only that one's, and a flag of another
// subcommand is refused (issue 9: one merged help, `--json (list)` shown
// under `user add`).
func TestUserHelpPerSubcommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{name: "user --help lists all", args: []string{"user", "--help"},
			want: []string{"usage: termhost user add", "usage: termhost user list", "usage: termhost user del",
				"usage: termhost user passwd", "usage: termhost user key", "--admin", "--json", "common flags:", "--data-dir"}},
		{name: "user help", args: []string{"user", "help"}, want: []string{"usage: termhost user add", "usage: termhost user key"}},
		{name: "add", args: []string{"user", "add", "--help"}, want: []string{"usage: termhost user add", "--admin", "--key file", "--password-stdin"},
			notWant: []string{"--json", "user list", "(add)"}},
		{name: "list", args: []string{"user", "list", "-h"}, want: []string{"usage: termhost user list", "--json"}, notWant: []string{"--admin", "--password-stdin"}},
		{name: "alias ls", args: []string{"user", "ls", "--help"}, want: []string{"usage: termhost user list", "--json"}, notWant: []string{"--admin"}},
		{name: "del", args: []string{"user", "del", "--help"}, want: []string{"usage: termhost user del", "--config"}, notWant: []string{"--admin", "--json"}},
		{name: "passwd", args: []string{"user", "passwd", "--help"}, want: []string{"usage: termhost user passwd", "--password-stdin"}, notWant: []string{"--admin"}},
		{name: "another verb's flag", args: []string{"user", "del", "bob", "--json"}, code: 2, want: []string{"--json is not a flag of user del"}},
		{name: "add with list's flag", args: []string{"user", "add", "bob", "--json"}, code: 2, want: []string{"--json is not a flag of user add"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(append(tt.args, "--data-dir", t.TempDir()), strings.NewReader(""), &out, &errOut)
			text := out.String() + errOut.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("output has %q:\n%s", w, text)
				}
			}
		})
	}
}
