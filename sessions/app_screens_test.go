package sessions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/tui/apps"
)

// screenFixture is a manager on a real store with some chat and a document.
func screenFixture(t *testing.T) (*Manager, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "screens.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := propClock{time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)}
	for _, text := range []string{"welcome to the lobby", "second message"} {
		if _, err := store.PostChat(ctx, persist.ChatMessage{Room: "#lobby", User: "ann", Text: text, At: clock.t}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreateDocument(ctx, persist.Document{Owner: "sam", Title: "plan", Body: "step one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateDocument(ctx, persist.Document{Owner: "eve", Title: "eve-secret", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	return NewManager(Config{Store: store, Clock: clock, Registry: apps.Registry(), Node: "screens"}), store
}

// TestAppScreens renders every app at 80×24 and 20×5 through x/vt and
// checks what a user must see.
func TestAppScreens(t *testing.T) {
	m, _ := screenFixture(t)
	u := User{Name: "sam", Admin: true}
	tests := []struct {
		name string
		app  string
		big  []string // wanted at 80×24
		tiny []string // wanted at 20×5
		not  []string // never shown
	}{
		{"notes", "notes", []string{"untitled", "sam · s"}, []string{"untitled"}, nil},
		{"documents", "documents", []string{"plan", "v1", "enter open"}, []string{"plan"}, []string{"eve-secret"}},
		{"chat", "chat", []string{"#lobby", "09:30 ann: welcome to the lobby", "second message", "> "}, []string{"#lobby", "> "}, nil},
		{"who", "who", []string{"USER", "r: refresh"}, []string{"USER"}, []string{"loading"}},
		{"admin", "admin", []string{"ID", "USER", "STATE", "K kill"}, []string{"ID"}, nil},
		{"help", "help", []string{"ctrl+b d", "detach", "ctrl+s", "save"}, []string{"ctrl+b d"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := newDriven(m, u)
			ws.SessionName = "s"
			if tc.app != "notes" {
				ws.Update(propKey('b', "", 1<<2)) // ctrl+b
				ws.Update(propKey('x', "x", 0))   // close the Notes tab
				openApp(t, ws, tc.app)
			}
			for _, size := range []struct {
				w, h int
				want []string
			}{{80, 24, tc.big}, {20, 5, tc.tiny}} {
				screen := propScreen(t, ws.Workspace, size.w, size.h)
				lines := strings.Split(screen, "\n")
				if len(lines) != size.h+1 { // + the cursor line
					t.Fatalf("%dx%d: %d lines", size.w, size.h, len(lines)-1)
				}
				for _, want := range size.want {
					if !strings.Contains(screen, want) {
						t.Errorf("%dx%d: missing %q:\n%s", size.w, size.h, want, screen)
					}
				}
				for _, no := range tc.not {
					if strings.Contains(screen, no) {
						t.Errorf("%dx%d: shows %q:\n%s", size.w, size.h, no, screen)
					}
				}
			}
		})
	}
	ws := newDriven(m, u)
	if screen := propScreen(t, ws.Workspace, 19, 5); !strings.Contains(screen, "terminal too small") {
		t.Errorf("19x5 should say the terminal is too small:\n%s", screen)
	}
}

// openApp opens a new tab of kind through the ctrl+b c chooser.
func openApp(t *testing.T, ws drivenWS, kind string) {
	t.Helper()
	for i, k := range apps.Registry().Kinds(true) {
		if k.Name == kind {
			ws.Update(propKey('b', "", 1<<2))
			ws.Update(propKey('c', "c", 0))
			d := rune('1' + i)
			ws.Update(propKey(d, string(d), 0))
			if got := ws.Focused().Kind(); got != kind {
				t.Fatalf("opened %s, want %s", got, kind)
			}
			return
		}
	}
	t.Fatalf("no app %s", kind)
}

// TestWorkspaceFixturesLoad loads every committed snapshot of every released
// state version: old snapshots must keep loading.
func TestWorkspaceFixturesLoad(t *testing.T) {
	m, _ := screenFixture(t)
	files, err := filepath.Glob("testdata/workspace/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := restoreDriven(m, User{Name: "sam", Admin: true}, data)
			if err != nil {
				t.Fatalf("fixture does not load: %v", err)
			}
			if ws.Tabs() == 0 {
				t.Fatal("fixture restored no tabs")
			}
			screen := propScreen(t, ws.Workspace, 80, 24)
			if strings.Contains(f, "all-apps") && !strings.Contains(screen, "half-typed draft") {
				t.Errorf("chat draft not restored:\n%s", screen)
			}
			if strings.Contains(f, "notes-only") && !strings.Contains(screen, "only notes") {
				t.Errorf("notes text not restored:\n%s", screen)
			}
		})
	}
}

// TestAdminAppHiddenFromUsers: a non-admin restoring a workspace with an
// Admin tab does not get it.
func TestAdminAppHiddenFromUsers(t *testing.T) {
	m, _ := screenFixture(t)
	data, err := os.ReadFile("testdata/workspace/v1-all-apps.json")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := restoreDriven(m, User{Name: "sam"}, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ws.Summary() {
		if a.App == "admin" {
			t.Fatal("a non-admin got the Admin app")
		}
	}
}
