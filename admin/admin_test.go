package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"termhost/admin"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

const wait = 10 * time.Second

// world is a real store and manager with alice's session attached
// (through an in-memory connection) and bob's detached.
type world struct {
	store  *sqlite.Store
	mgr    *sessions.Manager
	runner *admin.Runner
	alice  string // session ids
	bob    string
	screen *testterm.Screen
	served chan error
}

var fixed = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mgr := sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry()})
	t.Cleanup(func() { mgr.Shutdown(context.Background(), "test over") })
	w := &world{store: st, mgr: mgr, runner: &admin.Runner{Manager: mgr, Audit: st, Now: func() time.Time { return fixed }}}

	b, err := mgr.Create(ctx, sessions.User{Name: "bob"}, "bobs")
	if err != nil {
		t.Fatal(err)
	}
	w.bob = b.ID()

	user, server := net.Pipe()
	w.screen = testterm.New(80, 24, testterm.CRLF())
	w.screen.Pipe(user)
	w.served = make(chan error, 1)
	info := sessions.ClientInfo{Transport: "ssh", Remote: "192.0.2.7:4000", Term: "xterm-256color", Width: 80, Height: 24}
	go func() {
		w.served <- mgr.Serve(ctx, server, info, sessions.User{Name: "alice"}, []string{"new", "work"})
	}()
	t.Cleanup(func() {
		user.Close()
		<-w.served
		w.screen.Close()
	})
	w.screen.WaitFor(t, " alice · work", wait)
	rec, err := mgr.Find(ctx, "alice", "work")
	if err != nil {
		t.Fatal(err)
	}
	w.alice = rec.ID
	// The attach is recorded after its first frame, outside the session's
	// lock: tests that read the record or the history must not race it.
	deadline := time.Now().Add(wait)
	for {
		r, _ := st.GetSession(ctx, rec.ID)
		events, _ := st.Events(ctx, rec.ID)
		if r.State == persist.StateAttached && len(events) > 0 && events[len(events)-1].Kind == "attached" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the attach of alice's session was not recorded within %s", wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return w
}

// run executes an admin command as "root".
func (w *world) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = w.runner.Run(context.Background(), "root", args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func (w *world) audit(t *testing.T) []persist.AuditEntry {
	t.Helper()
	log, err := w.store.AuditLog(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func TestList(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name  string
		args  []string
		users []string // sorted
	}{
		{name: "all", args: []string{"sessions", "list", "--json"}, users: []string{"alice", "bob"}},
		{name: "without the sessions word", args: []string{"list", "--json"}, users: []string{"alice", "bob"}},
		{name: "by user", args: []string{"sessions", "list", "--json", "--user", "alice"}, users: []string{"alice"}},
		{name: "by state", args: []string{"sessions", "list", "--json", "--state", "detached"}, users: []string{"bob"}},
		{name: "nobody", args: []string{"sessions", "list", "--json", "--user", "carol"}, users: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := w.run(tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var list []sessions.JSONSession
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("not a JSON array: %v\n%s", err, out)
			}
			users := []string{}
			for _, s := range list {
				users = append(users, s.User)
			}
			sort.Strings(users)
			if strings.Join(users, ",") != strings.Join(tt.users, ",") {
				t.Errorf("users = %v, want %v", users, tt.users)
			}
		})
	}

	_, out, _ := w.run("sessions", "list", "--json", "--user", "alice")
	var raw []map[string]any
	json.Unmarshal([]byte(out), &raw)
	for _, key := range []string{"id", "user", "name", "state", "node", "created_at", "last_input_at", "idle_seconds", "clients", "apps"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("list --json lacks %q: %s", key, out)
		}
	}
	client := raw[0]["clients"].([]any)[0].(map[string]any)
	for _, key := range []string{"transport", "remote_addr", "term", "width", "height", "since"} {
		if _, ok := client[key]; !ok {
			t.Errorf("client lacks %q: %v", key, client)
		}
	}
	if _, err := time.Parse(time.RFC3339, raw[0]["created_at"].(string)); err != nil {
		t.Errorf("created_at is not RFC 3339: %v", err)
	}

	code, out, _ := w.run("sessions", "list")
	if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "ssh:192.0.2.7:4000") {
		t.Errorf("table listing:\n%s", out)
	}
}

func TestShow(t *testing.T) {
	w := newWorld(t)
	code, out, errOut := w.run("sessions", "show", w.alice[:8], "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		sessions.JSONSession
		History []persist.Event `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got.History {
		kinds = append(kinds, e.Kind)
	}
	if got.ID != w.alice || strings.Join(kinds, ",") != "created,attached" {
		t.Errorf("show = %s with history %v", got.ID, kinds)
	}
	if code, out, _ := w.run("sessions", "show", "bobs"); code != 0 || !strings.Contains(out, "HISTORY") || !strings.Contains(out, "created") {
		t.Errorf("show as text (exit %d):\n%s", code, out)
	}
}

func TestActionsAreAudited(t *testing.T) {
	tests := []struct {
		name       string
		args       func(w *world) []string
		wantOut    string
		wantScreen string // what alice's client sees
		wantAudit  persist.AuditEntry
		wantState  string
	}{
		{
			name:       "message",
			args:       func(w *world) []string { return []string{"sessions", "message", w.alice, "back", "in", "5"} },
			wantOut:    "message delivered to 1 session(s)",
			wantScreen: "message from root: back in 5",
			wantAudit:  persist.AuditEntry{Actor: "root", Action: "message", Detail: "back in 5"},
			wantState:  persist.StateAttached,
		},
		{
			name:       "message all",
			args:       func(*world) []string { return []string{"sessions", "message", "--all", "reboot"} },
			wantOut:    "message delivered to 2 session(s)",
			wantScreen: "message from root: reboot",
			wantAudit:  persist.AuditEntry{Actor: "root", Action: "message", Target: "*", Detail: "reboot"},
			wantState:  persist.StateAttached,
		},
		{
			name:       "detach",
			args:       func(w *world) []string { return []string{"sessions", "detach", w.alice} },
			wantOut:    "detached 1 client(s)",
			wantScreen: "[detached by root]",
			wantAudit:  persist.AuditEntry{Actor: "root", Action: "detach"},
			wantState:  persist.StateDetached,
		},
		{
			name:       "kill",
			args:       func(w *world) []string { return []string{"sessions", "kill", w.alice[:10]} },
			wantOut:    "killed ",
			wantScreen: "[session work ended: killed by root]",
			wantAudit:  persist.AuditEntry{Actor: "root", Action: "kill"},
			wantState:  persist.StateEnded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			code, out, errOut := w.run(tt.args(w)...)
			if code != 0 || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d, out %q, err %q; want %q", code, out, errOut, tt.wantOut)
			}
			w.screen.WaitFor(t, tt.wantScreen, wait)
			log := w.audit(t)
			if len(log) != 1 {
				t.Fatalf("audit has %d entries, want 1: %+v", len(log), log)
			}
			a := log[0]
			wantTarget := tt.wantAudit.Target
			if wantTarget == "" {
				wantTarget = w.alice
			}
			if a.Actor != tt.wantAudit.Actor || a.Action != tt.wantAudit.Action || a.Target != wantTarget ||
				a.Detail != tt.wantAudit.Detail || !a.At.Equal(fixed) {
				t.Errorf("audit entry = %+v, want %+v on %s at %v", a, tt.wantAudit, wantTarget, fixed)
			}
			if r, _ := w.store.GetSession(context.Background(), w.alice); r.State != tt.wantState {
				t.Errorf("state = %s, want %s", r.State, tt.wantState)
			}
		})
	}
}

func TestFailuresAndUsage(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		wantOut  string
		audited  bool
	}{
		{name: "no verb", args: []string{"sessions"}, wantCode: 2, wantErr: "usage"},
		{name: "unknown verb", args: []string{"sessions", "explode"}, wantCode: 2, wantErr: `unknown verb "explode"`},
		{name: "bad list flag", args: []string{"sessions", "list", "--colour"}, wantCode: 2, wantErr: "sessions list"},
		{name: "show without id", args: []string{"sessions", "show"}, wantCode: 2, wantErr: "sessions show ID"},
		{name: "kill without id", args: []string{"sessions", "kill"}, wantCode: 2, wantErr: "sessions kill ID"},
		{name: "message without text", args: []string{"sessions", "message", "abc"}, wantCode: 2, wantErr: "sessions message"},
		{name: "kill unknown", args: []string{"sessions", "kill", "zzzzzzzz"}, wantCode: 1, wantErr: "no such session"},
		{name: "short prefix", args: []string{"sessions", "show", "ab"}, wantCode: 1, wantErr: "at least 6 characters"},
		{name: "unknown state", args: []string{"sessions", "list", "--state", "bogus"}, wantCode: 2, wantErr: `--state "bogus": want one of attached`},
		{name: "detach an ended session", args: []string{"sessions", "detach", "bobs"}, wantCode: 1, wantErr: "has ended", audited: true},
		{name: "kill help", args: []string{"sessions", "kill", "--help"}, wantOut: "usage: sessions kill ID"},
		{name: "list help", args: []string{"sessions", "list", "-h"}, wantOut: "--state attached|detached"},
		{name: "help of everything", args: []string{"sessions", "--help"}, wantOut: "sessions message ID"},
		{name: "help as a verb", args: []string{"sessions", "help"}, wantOut: "sessions stats"},
		{name: "a message that says --help is text", args: []string{"sessions", "message", "zzzzzzzz", "need", "--help"}, wantCode: 1, wantErr: "no such session"},
		{name: "message an ended session", args: []string{"sessions", "message", "bobs", "hi"}, wantCode: 1, wantErr: "not live", audited: true},
		{name: "kill an ended session", args: []string{"sessions", "kill", "bobs"}, wantCode: 1, wantErr: "already ended", audited: true},
	}
	if code, _, errOut := w.run("sessions", "kill", "bobs"); code != 0 {
		t.Fatalf("kill bobs: %s", errOut)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.audit(t))
			code, out, errOut := w.run(tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q and %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			log := w.audit(t)
			if got := len(log) - before; got != map[bool]int{true: 1}[tt.audited] {
				t.Errorf("%d audit entries written, want audited=%v", got, tt.audited)
			}
			if tt.audited && !strings.Contains(log[0].Detail, "failed") {
				t.Errorf("audit of a failed action = %+v, want it marked failed", log[0])
			}
		})
	}
}

func TestStatsCountsLiveSessions(t *testing.T) {
	w := newWorld(t)
	var out, errOut bytes.Buffer
	if code := w.runner.Run(context.Background(), "root", []string{"sessions", "stats", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut.String())
	}
	var st sessions.Stats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out.String())
	}
	if st.Live < 1 || st.Attached != 1 || st.Clients != 1 || st.HeapBytes == 0 || st.Goroutines == 0 {
		t.Errorf("stats = %+v, want alice attached with one client and runtime figures", st)
	}
}
