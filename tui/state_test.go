package tui_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"termhost/tui"
	"termhost/tui/apps"
)

// A restored workspace draws exactly what the original drew, at any size.
func TestSnapshotRestoreRoundTrip(t *testing.T) {
	ws := newWS(t)
	press(ws, "first line\rsecond 中文 line\x1b[D\x1b[D")
	press(ws, "\x02c2xy")                           // a fake tab that got keys
	press(ws, "\x02c1"+strings.Repeat("row\r", 60)) // a scrolled Notes tab
	press(ws, "\x1b[5~\x1b[A")
	press(ws, "\x021") // focus the first tab
	for _, sz := range []struct{ w, h int }{{80, 24}, {20, 5}, {33, 7}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			for i := range ws.Tabs() {
				press(ws, fmt.Sprintf("\x02%d", i+1))
				wantView, wantCur := ws.View(sz.w, sz.h)
				data, err := ws.Snapshot()
				if err != nil {
					t.Fatalf("Snapshot: %v", err)
				}
				got, err := tui.Restore(testRegistry(), tui.Env{User: "alice"}, data)
				if err != nil {
					t.Fatalf("Restore: %v\n%s", err, data)
				}
				got.SessionName = ws.SessionName
				gotView, gotCur := got.View(sz.w, sz.h)
				if gotView != wantView {
					t.Errorf("tab %d: restored view differs\nwant:\n%s\ngot:\n%s", i+1, wantView, gotView)
				}
				if fmt.Sprint(gotCur) != fmt.Sprint(wantCur) {
					t.Errorf("tab %d: restored cursor %v, want %v", i+1, gotCur, wantCur)
				}
				if got.Tabs() != ws.Tabs() || got.Focus() != ws.Focus() {
					t.Errorf("tab %d: restored %d tabs focus %d, want %d focus %d", i+1, got.Tabs(), got.Focus(), ws.Tabs(), ws.Focus())
				}
			}
		})
	}
}

func TestRestoreRejects(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{name: "garbage", data: "\x00\xffnot json"},
		{name: "empty", data: ""},
		{name: "json of the wrong shape", data: `[1,2,3]`},
		{name: "no version", data: `{"focus":0,"tabs":[]}`},
		{name: "newer workspace version", data: `{"v":99,"focus":0,"tabs":[]}`},
		{name: "unknown app", data: `{"v":1,"tabs":[{"app":"spreadsheet","v":1,"state":{}}]}`},
		{name: "newer app version", data: `{"v":1,"tabs":[{"app":"notes","v":2,"state":{}}]}`},
		{name: "unreadable app state", data: `{"v":1,"tabs":[{"app":"notes","v":1,"state":"text"}]}`},
		{name: "one bad tab of two", data: `{"v":1,"tabs":[{"app":"notes","v":1,"state":{}},{"app":"fake","v":2,"state":[]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := tui.Restore(testRegistry(), tui.Env{User: "alice"}, []byte(tt.data))
			if !errors.Is(err, tui.ErrBadState) {
				t.Fatalf("Restore(%q) = %v, %v; want ErrBadState", tt.data, ws, err)
			}
		})
	}
}

func TestRestoreAccepts(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		admin     bool
		wantTabs  int
		wantFocus int
	}{
		{name: "older app version", data: `{"v":1,"tabs":[{"app":"fake","v":1,"state":{"name":"old"}}]}`, wantTabs: 1},
		{name: "no tabs", data: `{"v":1,"focus":0,"tabs":[]}`},
		{name: "focus past the end is clamped", data: `{"v":1,"focus":7,"tabs":[{"app":"notes","v":1,"state":{}},{"app":"notes","v":1,"state":{}}]}`, wantTabs: 2, wantFocus: 1},
		{name: "negative focus is clamped", data: `{"v":1,"focus":-3,"tabs":[{"app":"notes","v":1,"state":{}}]}`, wantTabs: 1},
		{name: "cursor past the text is clamped", data: `{"v":1,"tabs":[{"app":"notes","v":1,"state":{"body":"ab","row":9,"col":99,"top":-4}}]}`, wantTabs: 1},
		{name: "admin app dropped for a user", data: `{"v":1,"tabs":[{"app":"secret","v":1,"state":{}},{"app":"notes","v":1,"state":{}}]}`, wantTabs: 1},
		{name: "admin app kept for an admin", data: `{"v":1,"tabs":[{"app":"secret","v":1,"state":{}},{"app":"notes","v":1,"state":{}}]}`, admin: true, wantTabs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := tui.Restore(testRegistry(), tui.Env{User: "alice", Admin: tt.admin}, []byte(tt.data))
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if ws.Tabs() != tt.wantTabs || ws.Focus() != tt.wantFocus {
				t.Errorf("tabs %d focus %d, want %d focus %d", ws.Tabs(), ws.Focus(), tt.wantTabs, tt.wantFocus)
			}
			ws.View(80, 24)
			ws.View(20, 5)
		})
	}
}

// FuzzRestore: no input makes Restore (or drawing what it returns) panic;
// whatever it accepts snapshots and restores again.
func FuzzRestore(f *testing.F) {
	reg := apps.Registry()
	env := tui.Env{User: "alice", Admin: true}
	f.Add([]byte(`{"v":1,"focus":0,"tabs":[{"app":"notes","v":1,"state":{"body":"hi\nthere","row":1,"col":2}}]}`))
	f.Add([]byte(`{"v":1,"tabs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := tui.Restore(reg, env, data)
		if err != nil {
			if !errors.Is(err, tui.ErrBadState) {
				t.Fatalf("Restore error %v does not wrap ErrBadState", err)
			}
			return
		}
		ws.View(80, 24)
		ws.View(20, 5)
		again, err := ws.Snapshot()
		if err != nil {
			t.Fatalf("Snapshot of a restored workspace: %v", err)
		}
		if _, err := tui.Restore(reg, env, again); err != nil {
			t.Fatalf("a snapshot of a restored workspace does not restore: %v\n%s", err, again)
		}
	})
}
