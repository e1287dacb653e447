package sessions_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
)

// SPEC §4: session names refuse control and bidi characters and names that
// read as flags (issue 9: `ssh -t host new $'\e[2J\e]0;x\a'` was accepted).
func TestSessionNameRefusesControls(t *testing.T) {
	tests := []struct {
		name    string
		session string
		ok      bool
	}{
		{name: "plain", session: "work", ok: true},
		{name: "unicode letters", session: "übung-中", ok: true},
		{name: "inner dash", session: "a-b", ok: true},
		{name: "escape sequences", session: "\x1b[2J\x1b]0;x\a"},
		{name: "bel", session: "a\ab"},
		{name: "nul", session: "a\x00"},
		{name: "del", session: "a\x7f"},
		{name: "c1 csi", session: "a\u009b2J"},
		{name: "bidi override", session: "abc\u202e"},
		{name: "bidi isolate", session: "\u2067x"},
		{name: "invalid utf-8", session: "a\xff"},
		{name: "looks like a flag", session: "-rf"},
		{name: "double dash", session: "--help"},
		{name: "zero-width space", session: "ad\u200bmin"},
		{name: "zero-width joiner", session: "a\u200db"},
		{name: "word joiner", session: "a\u2060b"},
		{name: "bom", session: "\ufeffwork"},
		{name: "tag characters", session: "work\U000e0041"},
		{name: "lrm", session: "a\u200e"},
		{name: "rlm", session: "a\u200f"},
		{name: "alm", session: "a\u061c"},
		{name: "soft hyphen", session: "wo\u00adrk"},
		{name: "hangul filler", session: "\u3164"},
		{name: "variation selector", session: "a\ufe0f"},
		{name: "no-break space", session: "a\u00a0b"},
		{name: "ideographic space", session: "a\u3000b"},
		{name: "private use", session: "a\ue000"},
		{name: "cjk name", session: "中文会话", ok: true},
		{name: "combining accent", session: "cafe\u0301", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			_, err := e.mgr.Create(context.Background(), alice, tt.session)
			if tt.ok != (err == nil) {
				t.Fatalf("Create(%q) = %v, want ok=%v", tt.session, err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, sessions.ErrBadName) {
				t.Fatalf("Create(%q) = %v, want ErrBadName", tt.session, err)
			}
			if !tt.ok && strings.ContainsAny(err.Error(), "\x1b\x07\x00\x7f\u009b\u202e\u2067\u200b\u200d\u2060\ufeff\U000e0041\u200e\u200f\u061c\u00ad") {
				t.Fatalf("error %q carries the raw name", err)
			}
		})
	}
}

// A name stored before names were checked prints escaped in `ls` and the
// operator's table: no raw ESC reaches either terminal.
func TestStoredBadNamePrintsEscaped(t *testing.T) {
	e := newEnv(t, testPolicy())
	now := e.clock.Now()
	rec := persist.Session{ID: "s0000000000000000000bad", Owner: alice.Name, Name: "\x1b[2J\x1b]0;x\a\u202e",
		State: persist.StateDetached, Node: "n1", CreatedAt: now, LastInputAt: now, DetachedAt: now, Epoch: 1}
	if err := e.store.CreateSession(context.Background(), rec, 0); err != nil {
		t.Fatal(err)
	}
	infos, err := e.mgr.List(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	var table, ls, stderr bytes.Buffer
	sessions.WriteTable(&table, infos, now.Add(time.Minute))
	if code := e.mgr.Command(context.Background(), alice, []string{"ls"}, &ls, &stderr); code != 0 {
		t.Fatalf("ls exit %d: %s", code, stderr.String())
	}
	for name, out := range map[string]string{"table": table.String(), "ls": ls.String()} {
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("%s prints raw controls: %q", name, out)
		}
		if !strings.Contains(out, `^[[2J^[]0;x^G\u202E`) {
			t.Errorf("%s lacks the escaped name: %q", name, out)
		}
	}
	// The workspace's status bar shows it escaped too.
	c := e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24), "attach", rec.ID)
	c.waitFor(` alice · ^[[2J^[]0;x^G\u202E`)
}
