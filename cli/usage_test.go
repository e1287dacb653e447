package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The top-level usage lists every flag serve takes, so `termhost --help`
// shows an operator all of them (the flag list is read from serve --help,
// so a new flag cannot be forgotten here).
func TestTopLevelUsageListsServeFlags(t *testing.T) {
	var serveOut, serveErr bytes.Buffer
	if code := Main([]string{"serve", "--help"}, strings.NewReader(""), &serveOut, &serveErr); code != 0 {
		t.Fatalf("serve --help = %d: %s", code, serveErr.String())
	}
	flags := regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`).FindAllStringSubmatch(serveOut.String(), -1)
	if len(flags) < 10 {
		t.Fatalf("serve --help lists %d flags, want its ~15:\n%s", len(flags), serveOut.String())
	}
	var top, topErr bytes.Buffer
	if code := Main([]string{"--help"}, strings.NewReader(""), &top, &topErr); code != 0 {
		t.Fatalf("--help = %d: %s", code, topErr.String())
	}
	for _, f := range flags {
		t.Run(f[1], func(t *testing.T) {
			if !strings.Contains(top.String(), "--"+f[1]) {
				t.Errorf("termhost --help lacks --%s:\n%s", f[1], top.String())
			}
		})
	}
}
