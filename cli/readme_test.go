package cli

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// README.md and the --help texts cannot drift (issue 9): every flag the
// README shows on a `termhost CMD [SUB] …` (or `go run . CMD …`) line is in
// that command's --help, and every command of `termhost --help` is shown
// in the README.
func TestReadmeMatchesHelp(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	commands := regexp.MustCompile(`(?m)^  termhost ([a-z-]+)`).FindAllStringSubmatch(usage, -1)
	if len(commands) < 8 {
		t.Fatalf("the top-level usage names %d commands, want its 8+:\n%s", len(commands), usage)
	}
	var names []string
	for _, c := range commands {
		if !slices.Contains(names, c[1]) {
			names = append(names, c[1])
		}
	}
	for _, name := range names {
		t.Run("README shows "+name, func(t *testing.T) {
			if !regexp.MustCompile(`(termhost|go run \.) ` + regexp.QuoteMeta(name) + `\b`).Match(readme) {
				t.Errorf("README.md never shows `termhost %s` (it is in termhost --help)", name)
			}
		})
	}

	// A use: the command, an optional subcommand, and the rest of the
	// line or inline-code span up to a " | " (which starts another use).
	use := regexp.MustCompile(`(?:termhost|go run \.) (` + strings.Join(names, "|") + `)((?: [a-z][a-z|]*)?)([^` + "`" + `\n]*)`)
	flagRe := regexp.MustCompile(`(?:^|[\s\[|(])--([a-z][a-z-]*)`)
	seen := 0
	for _, m := range use.FindAllStringSubmatch(string(readme), -1) {
		cmd, sub, rest := m[1], strings.TrimSpace(m[2]), m[3]
		if i := strings.Index(rest, " | "); i >= 0 {
			rest = rest[:i]
		}
		args := []string{cmd}
		if sub != "" && !strings.Contains(sub, "|") {
			args = append(args, sub)
		} else if sub != "" { // "key add|del": ask the first
			args = append(args, strings.Split(sub, "|")[0])
		}
		for _, f := range flagRe.FindAllStringSubmatch(rest, -1) {
			seen++
			flag := f[1]
			t.Run(strings.Join(args, " ")+" --"+flag, func(t *testing.T) {
				var out, errOut bytes.Buffer
				help := append(append([]string{}, args...), "--help")
				if code := Main(help, strings.NewReader(""), &out, &errOut); code != 0 {
					t.Fatalf("%v = %d: %s", help, code, errOut.String())
				}
				if !regexp.MustCompile(`(^|[\s\[|(])--?` + regexp.QuoteMeta(flag) + `\b`).MatchString(out.String()) {
					t.Errorf("README.md shows `termhost %s … --%s`, but its --help does not:\n%s", strings.Join(args, " "), flag, out.String())
				}
			})
		}
	}
	if seen < 20 {
		t.Errorf("found %d flags on README command lines, want the 20+ it shows (did the pattern break?)", seen)
	}
}
