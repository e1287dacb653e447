package adminapp

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
)

// The sessions table keeps its columns in terminal cells whatever the
// names hold (issue 9: a wide CJK name or a long one shifted the columns
// after it; an invisible character made two rows look alike).
func TestAdminTableColumnsAlign(t *testing.T) {
	tests := []struct {
		name, user, session string
		show                string // how the name cell starts
	}{
		{name: "ascii", user: "alice", session: "work", show: "work"},
		{name: "cjk name", user: "alice", session: "中文会话", show: "中文会话"},
		{name: "long cjk name cut", user: "alice", session: "中文会话中文会话中文会话", show: "中文会话中文会… "},
		{name: "long name cut", user: "bob", session: "a-very-long-session-name-32chars", show: "a-very-long-ses…"},
		{name: "zero-width space shown", user: "alice", session: "ad\u200bmin", show: `ad\u200Bmin`},
		{name: "combining mark", user: "alice", session: "cafe\u0301", show: "cafe\u0301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Admin{rows: []tui.SessionRow{
				{ID: "s1234567890", User: "carol", Name: "plain", State: "attached", Clients: 1, Idle: time.Second, Apps: "notes"},
				{ID: "s0987654321", User: tt.user, Name: tt.session, State: "detached", Clients: 0, Idle: time.Minute, Apps: "chat"},
			}}
			view, _ := a.View(80, 10)
			lines := strings.Split(ansi.Strip(view), "\n")
			head, rows := lines[0], lines[1:3]
			// cellOf is the cell where word starts in line.
			cellOf := func(line, word string) int {
				i := strings.Index(line, word)
				if i < 0 {
					t.Fatalf("%q not in %q", word, line)
				}
				return tui.Width(line[:i])
			}
			for i, row := range rows {
				state := []string{"attached", "detached"}[i]
				app := []string{"notes", "chat"}[i]
				if got, want := cellOf(row, state), cellOf(head, "STATE"); got != want {
					t.Errorf("STATE at cell %d, header at %d:\n%s\n%s", got, want, head, row)
				}
				if got, want := cellOf(row, app), cellOf(head, "APPS"); got != want {
					t.Errorf("APPS at cell %d, header at %d:\n%s\n%s", got, want, head, row)
				}
			}
			if !strings.Contains(rows[1], tt.show) {
				t.Errorf("row %q does not show %q", rows[1], tt.show)
			}
			if strings.ContainsRune(rows[1], '\u200b') {
				t.Errorf("row %q carries a raw zero-width space", rows[1])
			}
		})
	}
}
