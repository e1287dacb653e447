package admin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"termhost/admin"
	"termhost/sessions"
)

// The admin socket answers every verb of the one table (admin.Verbs) with
// that entry's usage, by name and by alias, and its overall usage lists
// exactly the table (issue 11: verbs declared once).
func TestSocketVerbsComeFromTheTable(t *testing.T) {
	w := newWorld(t)
	path := listen(t, w)
	all := admin.Usage("")
	for _, v := range admin.Verbs {
		for _, name := range append([]string{v.Name}, v.Aliases...) {
			t.Run(name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				code, err := admin.Call(path, []string{"sessions", name, "--help"}, &out, &errOut)
				if err != nil || code != 0 || out.String() != "usage: "+v.Usage+"\n" {
					t.Errorf("sessions %s --help over the socket: %d, %v, %q; want the table's %q", name, code, err, out.String(), v.Usage)
				}
			})
		}
		if !strings.Contains(all, "  "+v.Usage+"\n") {
			t.Errorf("Usage(\"\") lacks %q:\n%s", v.Usage, all)
		}
	}
	if n := strings.Count(all, "  sessions "); n != len(admin.Verbs) {
		t.Errorf("Usage(\"\") lists %d verbs, the table has %d:\n%s", n, len(admin.Verbs), all)
	}
	var out, errOut bytes.Buffer
	code, _ := admin.Call(path, []string{"sessions", "explode"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), strings.Join(admin.Names(), ", ")) {
		t.Errorf("unknown verb: %d %q; want exit 2 naming %v", code, errOut.String(), admin.Names())
	}
}

// Runner.Act (the web API's entry) runs the same one-session actions as
// the command line and refuses what the command line would read
// differently.
func TestAct(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tests := []struct {
		name, verb, ref, text string
		want                  error // nil: success
		out                   string
	}{
		{name: "unknown verb", verb: "explode", ref: w.alice, want: admin.ErrUnknownVerb},
		{name: "list is not a session verb", verb: "list", ref: w.alice, want: admin.ErrUnknownVerb},
		{name: "flag-like text", verb: "message", ref: w.alice, text: "--all", want: admin.ErrBadArgs},
		{name: "flag-like session", verb: "kill", ref: "--all", want: admin.ErrBadArgs},
		{name: "message without text", verb: "message", ref: w.alice, want: admin.ErrBadArgs},
		{name: "kill with text", verb: "kill", ref: w.alice, text: "why", want: admin.ErrBadArgs},
		{name: "no such session", verb: "detach", ref: "nothing-like-it", want: sessions.ErrNoSession},
		{name: "message by alias", verb: "msg", ref: w.alice, text: "hello", out: "message delivered to 1 session(s)"},
		{name: "detach", verb: "detach", ref: w.alice, out: "detached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := w.runner.Act(ctx, "root", tt.verb, tt.ref, tt.text, &out)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Act = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || !strings.Contains(out.String(), tt.out) {
				t.Fatalf("Act = %v, %q; want %q", err, out.String(), tt.out)
			}
		})
	}
	if got, want := admin.SessionVerbs(), []string{"detach", "kill", "message"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SessionVerbs = %v, want %v", got, want)
	}
}
