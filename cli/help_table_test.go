package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command and subcommand of the CLI answers --help (and -h) with its
// own usage line on stdout and exit 0, without opening, creating or
// reaching a store or a server: the data dir it is pointed at does not
// come into being (issue 9, "The command line").
func TestEveryCommandHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // its own usage line
	}{
		{name: "top level", args: nil, want: "usage:\n  termhost version"},
		{name: "version", args: []string{"version"}, want: "usage: termhost version"},
		{name: "serve", args: []string{"serve"}, want: "usage: termhost serve"},
		{name: "user", args: []string{"user"}, want: "usage: termhost user add NAME"},
		{name: "user add", args: []string{"user", "add"}, want: "usage: termhost user add NAME"},
		{name: "user list", args: []string{"user", "list"}, want: "usage: termhost user list"},
		{name: "user del", args: []string{"user", "del"}, want: "usage: termhost user del NAME"},
		{name: "user passwd", args: []string{"user", "passwd"}, want: "usage: termhost user passwd NAME"},
		{name: "user key", args: []string{"user", "key"}, want: "usage: termhost user key add|del"},
		{name: "user key add", args: []string{"user", "key", "add"}, want: "usage: termhost user key add|del"},
		{name: "sessions", args: []string{"sessions"}, want: "termhost sessions list"},
		{name: "sessions list", args: []string{"sessions", "list"}, want: "usage: termhost sessions list"},
		{name: "sessions show", args: []string{"sessions", "show"}, want: "usage: termhost sessions show"},
		{name: "sessions detach", args: []string{"sessions", "detach"}, want: "usage: termhost sessions detach"},
		{name: "sessions kill", args: []string{"sessions", "kill"}, want: "usage: termhost sessions kill"},
		{name: "sessions message", args: []string{"sessions", "message"}, want: "usage: termhost sessions message"},
		{name: "sessions stats", args: []string{"sessions", "stats"}, want: "usage: termhost sessions stats"},
		{name: "logins", args: []string{"logins"}, want: "usage: termhost logins list"},
		{name: "logins list", args: []string{"logins", "list"}, want: "termhost logins list"},
		{name: "logins revoke", args: []string{"logins", "revoke"}, want: "termhost logins revoke"},
		{name: "nodes", args: []string{"nodes"}, want: "usage: termhost nodes list"},
		{name: "nodes list", args: []string{"nodes", "list"}, want: "termhost nodes list"},
		{name: "nodes drain", args: []string{"nodes", "drain"}, want: "termhost nodes drain ID"},
		{name: "keys", args: []string{"keys"}, want: "usage: termhost keys list"},
		{name: "keys list", args: []string{"keys", "list"}, want: "termhost keys list"},
		{name: "keys rotate", args: []string{"keys", "rotate"}, want: "termhost keys rotate"},
		{name: "keys retire", args: []string{"keys", "retire"}, want: "termhost keys retire ID"},
		{name: "keys generate", args: []string{"keys", "generate"}, want: "termhost keys generate"},
		{name: "hash-password", args: []string{"hash-password"}, want: "usage: termhost hash-password"},
	}
	for _, k := range []string{"SSH_ADDR", "TELNET_ADDR", "HTTP_ADDR", "METRICS_ADDR", "CONFIG", "DATA_DIR", "STORE"} {
		t.Setenv("TERMHOST_"+k, "")
	}
	for _, tt := range tests {
		for _, help := range []string{"--help", "-h"} {
			t.Run(tt.name+" "+help, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "data")
				args := append(append([]string{}, tt.args...), help)
				if tt.args != nil {
					args = append(args, "--data-dir", dir) // the flag every command takes
				}
				var out, errOut bytes.Buffer
				code := Main(args, strings.NewReader(""), &out, &errOut)
				if code != 0 {
					t.Errorf("exit %d, want 0; stderr %q", code, errOut.String())
				}
				if !strings.Contains(out.String(), tt.want) {
					t.Errorf("stdout lacks its usage %q:\n%s", tt.want, out.String())
				}
				if errOut.Len() != 0 {
					t.Errorf("stderr %q, want nothing", errOut.String())
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("--help made the data dir %s (stat: %v)", dir, err)
				}
			})
		}
	}
}
