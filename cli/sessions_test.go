package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestOwnFlag(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want bool
	}{
		{"short config", "--config=a", true},
		{"data dir", "--data-dir=/tmp/x", true},
		{"one dash", "-data-dir=d", true},
		{"store", "--store=postgres://db/termhost", true},
		{"a verb", "list", false},
		{"a server flag", "--json", false},
		{"flag without value", "--config", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownFlag(tc.arg); got != tc.want {
				t.Errorf("ownFlag(%q) = %v, want %v", tc.arg, got, tc.want)
			}
		})
	}
}

// TestSessionsWithoutServerSaysWhatWorks: with no server on the data dir's
// socket (a cluster operator passing --store, a storage-less node), the
// error says to use the node's --data-dir or run the verb over SSH.
func TestSessionsWithoutServerSaysWhatWorks(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := Main([]string{"sessions", "list", "--store", "postgres://127.0.0.1:1/termhost", "--data-dir", dir}, nil, &out, &errOut)
	msg := errOut.String()
	if code != 1 || !strings.Contains(msg, "no running termhost server") || !strings.Contains(msg, "--data-dir") ||
		!strings.Contains(msg, "over SSH") || strings.Contains(msg, "flag provided but not defined") {
		t.Errorf("sessions list --store without a server: exit %d\n%s", code, msg)
	}
}
