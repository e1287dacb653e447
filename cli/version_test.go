package cli

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

// `termhost version` prints the module version and the VCS revision as
// `go build` stamps them into the build info, and says so plainly when the
// build carries no VCS stamp (issue 9). The e2e test TestVersionStamped
// checks the same against a binary built with -buildvcs=true.
func TestVersionFormat(t *testing.T) {
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{name: "stamped", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130124348-39c19296aae3"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "39c19296aae3922da5ae03b0f1bbf6beb090506c"},
				{Key: "vcs.time", Value: "2026-11-30T12:43:48Z"}, {Key: "vcs.modified", Value: "false"}}},
			want: "termhost v0.0.0-20261130124348-39c19296aae3 go1.26.8 revision 39c19296aae3922da5ae03b0f1bbf6beb090506c 2026-11-30T12:43:48Z"},
		{name: "stamped from a modified tree", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}},
			want: "termhost v1.2.3+dirty go1.26.8 revision abc123 (modified)"},
		{name: "no VCS stamp", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "termhost (devel) go1.26.8 revision unknown (built without VCS information)"},
		{name: "empty module version", ok: true, bi: &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: "termhost (devel) go1.26.8 revision unknown (built without VCS information)"},
		{name: "no build info", ok: false, want: "termhost (no build info) revision unknown (built without VCS information)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion(tt.bi, tt.ok); got != tt.want {
				t.Errorf("formatVersion = %q\nwant             %q", got, tt.want)
			}
		})
	}
}

// The command prints this test binary's own build info in that form.
func TestVersionCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"version"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("version = %d: %s", code, errOut.String())
	}
	bi, ok := debug.ReadBuildInfo()
	if want := formatVersion(bi, ok) + "\n"; out.String() != want {
		t.Errorf("version printed %q, want %q", out.String(), want)
	}
	if code := Main([]string{"version", "extra"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Errorf("version extra = %d, want 2", code)
	}
}
