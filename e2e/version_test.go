package e2e

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `termhost version` prints the module version and the VCS revision as
// `go build` stamps them (issue 9): checked against the build info read
// back from the binary file and against `git rev-parse HEAD` of the
// checkout it was built from. The binary TestMain built may carry no VCS
// stamp (GOFLAGS=-buildvcs=false): then it must say so.
func TestVersionStamped(t *testing.T) {
	tests := []struct {
		name  string
		build []string // go build flags; nil: the binary TestMain built
		vcs   bool     // the revision must be HEAD's
	}{
		{name: "as the tests build it"},
		{name: "with -buildvcs=true", build: []string{"-buildvcs=true"}, vcs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := binary
			var head string
			if tt.build != nil {
				out, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
				if err != nil {
					t.Skipf("not a git checkout (git rev-parse: %v): nothing to stamp", err)
				}
				head = strings.TrimSpace(string(out))
				bin = filepath.Join(t.TempDir(), "termhost")
				args := append(append([]string{"build"}, tt.build...), "-o", bin, "..")
				if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
					t.Fatalf("go %v: %v\n%s", args, err, out)
				}
			}
			bi, err := buildinfo.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			rev := ""
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
			out, err := exec.Command(bin, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("termhost version: %v\n%s", err, out)
			}
			got := strings.TrimSpace(string(out))
			t.Logf("termhost version: %s", got)
			if !strings.HasPrefix(got, "termhost "+bi.Main.Version+" "+bi.GoVersion) {
				t.Errorf("version %q lacks the module version %q and Go %q of the build info", got, bi.Main.Version, bi.GoVersion)
			}
			switch {
			case tt.vcs && rev != head:
				t.Errorf("go build stamped revision %q, want HEAD %q", rev, head)
			case rev != "" && !strings.Contains(got, "revision "+rev):
				t.Errorf("version %q lacks the stamped revision %q", got, rev)
			case rev == "" && !strings.Contains(got, "revision unknown (built without VCS information)"):
				t.Errorf("version %q of a build without VCS information does not say so", got)
			}
		})
	}
}
