package sessions

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"termhost/persist"
)

// WriteJSON must write what encoding/json wrote for `sessions list --json`
// before it (SPEC §3): the same bytes, for every shape of listing.
func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	live := Info{Session: persist.Session{ID: "abcdefabcdefabcdefabcdefab", Owner: "alice", Name: "work", State: persist.StateAttached,
		Node: "node-a", CreatedAt: at(time.Hour), LastInputAt: at(90 * time.Second),
		Apps: []persist.App{{App: "notes", Documents: []string{"plan", "todo"}}, {App: "chat", Documents: []string{}}, {App: "who"}}},
		Clients: []ClientView{
			{Transport: "ssh", Remote: "192.0.2.7:4000", Term: "xterm-256color", Width: 80, Height: 24, Since: at(time.Minute)},
			{Transport: "web", Remote: "[2001:db8::1]:443", Term: "xterm", Width: 200, Height: 60, Since: at(time.Second).Add(123456789)},
		}, Live: true}
	stored := Info{Session: persist.Session{ID: "s2", Owner: "bob", Name: "b", State: persist.StateHibernated, CreatedAt: at(2 * time.Hour), LastInputAt: at(time.Hour)}}
	ended := Info{Session: persist.Session{ID: "s3", Owner: "carol", Name: "c", State: persist.StateEnded, CreatedAt: at(3 * time.Hour),
		LastInputAt: at(3 * time.Hour), EndedAt: at(time.Minute), EndReason: "killed by admin"}}
	endedNoReason := ended
	endedNoReason.EndReason = ""
	reasonOnly := ended
	reasonOnly.EndedAt = time.Time{}
	odd := Info{Session: persist.Session{ID: "s4", Owner: "d\"q\\<b>&", Name: "naïve \x1b[2J\u2028 日本 \xff", State: persist.StateDetached,
		Node: "n\t1", CreatedAt: at(time.Minute), LastInputAt: now.Add(time.Hour),
		Apps: []persist.App{{App: "notes", Documents: []string{"a</script>", ""}}}}}
	for _, tt := range []struct {
		name  string
		infos []Info
	}{
		{name: "none", infos: nil},
		{name: "empty", infos: []Info{}},
		{name: "one live", infos: []Info{live}},
		{name: "stored", infos: []Info{stored}},
		{name: "ended", infos: []Info{ended, endedNoReason, reasonOnly}},
		{name: "escapes", infos: []Info{odd}},
		{name: "mixed", infos: []Info{live, stored, ended, odd, stored}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(ToJSON(tt.infos, now)); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, tt.infos, now); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("WriteJSON =\n%s\nencoding/json =\n%s", got.String(), want.String())
			}
		})
	}
}

// Many sessions go out in bounded writes, not one buffer of the whole.
func TestWriteJSONStreams(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	infos := make([]Info, 2000)
	for i := range infos {
		infos[i] = Info{Session: persist.Session{ID: "id", Owner: "u", Name: "n", State: persist.StateHibernated, CreatedAt: now, LastInputAt: now,
			Apps: []persist.App{{App: "notes", Documents: []string{"doc"}}}}}
	}
	w := &maxWrite{}
	if err := WriteJSON(w, infos, now); err != nil {
		t.Fatal(err)
	}
	if w.writes < 5 || w.max > 64<<10 {
		t.Errorf("%d bytes in %d writes, largest %d: want several writes of at most 64 KiB", w.total, w.writes, w.max)
	}
	failing := errors.New("pipe closed")
	if err := WriteJSON(errWriter{failing}, infos, now); !errors.Is(err, failing) {
		t.Errorf("WriteJSON to a failing writer = %v, want %v", err, failing)
	}
}

type maxWrite struct{ writes, max, total int }

func (m *maxWrite) Write(p []byte) (int, error) {
	m.writes++
	m.max = max(m.max, len(p))
	m.total += len(p)
	return len(p), nil
}

type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }
