package sessions

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// updater is a workspace, driven (drivenWS) or not.
type updater interface{ Update(tea.Msg) tui.Action }

func typeInto(ws updater, s string) {
	for _, r := range s {
		ws.Update(propKey(r, string(r), 0))
	}
}

func ctrl(r rune) tea.Msg { return propKey(r, "", tea.ModCtrl) }

// TestNotesSaveConflict: two sessions of one user edit the same document;
// the second save over a newer version asks, and each answer does what it
// says.
func TestNotesSaveConflict(t *testing.T) {
	tests := []struct {
		name     string
		answer   rune
		wantBody string // stored body of the original document afterwards
		wantView string // what the second editor shows afterwards
		copies   int    // documents titled "plan (copy)"
	}{
		{"reload takes the stored text", 'r', "step one A", "step one A", 0},
		{"overwrite replaces it", 'o', "step one B", "step one B", 0},
		{"save as keeps both", 's', "step one A", "step one B", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, store := screenFixture(t)
			ctx := context.Background()
			docs, _ := store.ListDocuments(ctx, "sam")
			id := docs[0].ID
			u := User{Name: "sam"}
			a, b := newDriven(m, u), newDriven(m, u)
			for _, ws := range []drivenWS{a, b} {
				ws.Update(ctrl('b'))
				ws.Update(propKey('x', "x", 0))
				openDoc(ws, m, u, id)
				ws.Update(propKey(tea.KeyEnd, "", 0))
			}
			typeInto(a, " A")
			a.Update(ctrl('s'))
			if !strings.Contains(a.Notice, "saved") {
				t.Fatalf("first save not acknowledged: %q", a.Notice)
			}
			typeInto(b, " B")
			b.Update(ctrl('s'))
			screen := propScreen(t, b.Workspace, 80, 24)
			if !strings.Contains(screen, "changed elsewhere") || !strings.Contains(screen, "r reload") {
				t.Fatalf("conflict not asked:\n%s", screen)
			}
			b.Update(propKey(tc.answer, string(tc.answer), 0))
			got, err := store.GetDocument(ctx, "sam", id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != tc.wantBody {
				t.Errorf("stored body %q, want %q", got.Body, tc.wantBody)
			}
			if screen := propScreen(t, b.Workspace, 80, 24); !strings.Contains(screen, tc.wantView) || strings.Contains(screen, "changed elsewhere") {
				t.Errorf("editor shows:\n%s\nwant %q", screen, tc.wantView)
			}
			all, _ := store.ListDocuments(ctx, "sam")
			copies := 0
			for _, d := range all {
				if d.Title == "plan (copy)" {
					copies++
					if d.Body != "step one B" {
						t.Errorf("copy body %q", d.Body)
					}
				}
			}
			if copies != tc.copies {
				t.Errorf("%d copies, want %d", copies, tc.copies)
			}
		})
	}
}

// openDoc opens document id in a Notes tab the way the Documents app does.
func openDoc(ws drivenWS, m *Manager, u User, id string) {
	for i, k := range m.reg.Kinds(u.Admin) {
		if k.Name == "documents" {
			ws.Update(ctrl('b'))
			ws.Update(propKey('c', "c", 0))
			d := rune('1' + i)
			ws.Update(propKey(d, string(d), 0))
		}
	}
	ws.Update(propKey(tea.KeyEnter, "", 0)) // the only document: open it
}

// TestDocumentsAreOwnersOnly: one user's Docs never reach another's.
func TestDocumentsAreOwnersOnly(t *testing.T) {
	m, store := screenFixture(t)
	ctx := context.Background()
	eve, _ := store.ListDocuments(ctx, "eve")
	docs := userDocs{store: store, owner: "sam"}
	if _, err := docs.Get(ctx, eve[0].ID); err == nil {
		t.Fatal("sam read eve's document")
	}
	if _, err := docs.Save(ctx, tui.Doc{ID: eve[0].ID, Title: "x", Body: "y", Version: eve[0].Version}); err == nil {
		t.Fatal("sam overwrote eve's document")
	}
	if err := docs.Delete(ctx, eve[0].ID); err == nil {
		t.Fatal("sam deleted eve's document")
	}
	list, _ := docs.List(ctx)
	for _, d := range list {
		if d.ID == eve[0].ID {
			t.Fatal("eve's document in sam's list")
		}
	}
	env := m.testEnv(User{Name: "sam"}, &syncRun{})
	if _, err := env.Docs.Get(ctx, eve[0].ID); err == nil {
		t.Fatal("env.Docs leaks other users' documents")
	}
	if got, _ := store.GetDocument(ctx, "eve", eve[0].ID); got.Body != "x" {
		t.Fatalf("eve's document changed: %+v", got)
	}
}

// Two Notes tabs saving at once each take their own result: the result is
// addressed to the tab that asked, so neither adopts the other's document.
func TestTwoNotesTabsTakeTheirOwnSaves(t *testing.T) {
	m, store := screenFixture(t)
	q := &syncRun{}
	ws := tui.New(m.reg, m.testEnv(User{Name: "sam"}, q))
	typeInto(ws, "first tab")
	ws.Update(ctrl('s')) // queued: both saves are in flight together
	ws.Update(ctrl('b'))
	ws.Update(propKey('c', "c", 0))
	ws.Update(propKey('1', "1", 0)) // a second Notes tab
	typeInto(ws, "second tab")
	ws.Update(ctrl('s'))
	if q.ran != 0 || len(q.cmds) != 2 {
		t.Fatalf("%d commands ran, %d queued; want two saves queued", q.ran, len(q.cmds))
	}
	q.drain(ws)
	docs, err := store.ListDocuments(context.Background(), "sam")
	if err != nil {
		t.Fatal(err)
	}
	byBody := map[string]string{}
	for _, d := range docs {
		byBody[d.Body] = d.ID
	}
	sum := ws.Summary()
	for i, body := range []string{"first tab", "second tab"} {
		if got := sum[i].Documents; len(got) != 1 || got[0] != byBody[body] || byBody[body] == "" {
			t.Errorf("tab %d edits %v, want the document saved with %q (%s)", i+1, got, body, byBody[body])
		}
	}
	if screen := propScreen(t, ws, 80, 24); !strings.Contains(screen, " 1:untitled  2:untitled ") {
		t.Errorf("both tabs should be saved (no *):\n%s", screen)
	}
}
