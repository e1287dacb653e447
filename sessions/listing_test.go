package sessions_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
	"termhost/tui"
)

// `sessions list` keeps its columns aligned in terminal cells (issue 9: a
// wide CJK name shifted every column after it, tabwriter counting runes)
// and shows stored invisible characters escaped.
func TestWriteTableAlignsWideNames(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	row := func(id, owner, name string) sessions.Info {
		return sessions.Info{Session: persist.Session{ID: id, Owner: owner, Name: name, State: persist.StateDetached,
			LastInputAt: now.Add(-time.Minute), Apps: []persist.App{{App: "notes"}}}}
	}
	tests := []struct {
		name string
		rows []sessions.Info
		show string
	}{
		{name: "ascii", rows: []sessions.Info{row("s00000000001", "alice", "work")}, show: "work"},
		{name: "cjk name", rows: []sessions.Info{row("s00000000001", "alice", "中文会话"), row("s00000000002", "bob", "x")}, show: "中文会话"},
		{name: "zero-width space escaped", rows: []sessions.Info{row("s00000000001", "alice", "ad\u200bmin"), row("s00000000002", "bob", "admin")}, show: `ad\u200Bmin`},
		{name: "combining mark", rows: []sessions.Info{row("s00000000001", "alice", "cafe\u0301"), row("s00000000002", "bob", "caf")}, show: "cafe\u0301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			sessions.WriteTable(&out, tt.rows, now)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			head := lines[0]
			want := tui.Width(head[:strings.Index(head, "STATE")])
			for _, l := range lines[1:] {
				if got := tui.Width(l[:strings.Index(l, "detached")]); got != want {
					t.Errorf("STATE at cell %d, header at %d:\n%s", got, want, out.String())
				}
			}
			if !strings.Contains(out.String(), tt.show) || strings.ContainsRune(out.String(), '\u200b') {
				t.Errorf("table does not show %q safely:\n%s", tt.show, out.String())
			}
		})
	}
}
