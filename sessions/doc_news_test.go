package sessions

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestDocNewsReachOpenTabs: a rename or delete of a document open in a
// Notes tab is reflected there (issue 9): a rename changes the tab's title
// and is no conflict at the next save, which keeps the new title; a
// deleted document's text is kept and ctrl+s saves it as a new document,
// whether the news arrived or the save found out.
func TestDocNewsReachOpenTabs(t *testing.T) {
	tests := []struct {
		name       string
		act        func(t *testing.T, ws drivenWS, m *Manager, id string)
		wantNotice []string // after the edit and one ctrl+s, then after a second one if two
		wantTitle  string   // of the document holding "step one more"
		wantOld    bool     // the original document still exists
	}{
		{name: "rename in Documents", act: func(t *testing.T, ws drivenWS, m *Manager, id string) {
			docsAction(t, ws, m, "r", strings.Repeat("\x7f", 4)+"plan B")
		}, wantNotice: []string{"saved plan B"}, wantTitle: "plan B", wantOld: true},
		{name: "delete in Documents", act: func(t *testing.T, ws drivenWS, m *Manager, id string) {
			docsAction(t, ws, m, "D", "yes")
		}, wantNotice: []string{"saved as new document plan"}, wantTitle: "plan"},
		{name: "deleted with no news", act: func(t *testing.T, ws drivenWS, m *Manager, id string) {
			if err := m.store.DeleteDocument(context.Background(), "sam", id); err != nil {
				t.Fatal(err)
			}
		}, wantNotice: []string{"was deleted; ctrl+s saves it as a new document", "saved as new document plan"}, wantTitle: "plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, store := screenFixture(t)
			ctx := context.Background()
			docs, _ := store.ListDocuments(ctx, "sam")
			id := docs[0].ID
			u := User{Name: "sam"}
			ws := newDriven(m, u)
			ws.Update(ctrl('b'))
			ws.Update(propKey('x', "x", 0)) // close the untitled tab
			openDoc(ws, m, u, id)           // tab 1: Documents, tab 2: Notes on "plan"
			ws.Update(propKey(tea.KeyEnd, "", 0))
			tt.act(t, ws, m, id)
			ws.Update(ctrl('b'))
			ws.Update(propKey('2', "2", 0))
			typeInto(ws, " more")
			for i, want := range tt.wantNotice {
				ws.Update(ctrl('s'))
				if !strings.Contains(ws.Notice, want) {
					t.Fatalf("ctrl+s #%d: notice %q, want %q\n%s", i+1, ws.Notice, want, propScreen(t, ws.Workspace, 80, 24))
				}
			}
			if got := ws.Focused().Title(); got != tt.wantTitle {
				t.Errorf("tab title %q, want %q", got, tt.wantTitle)
			}
			all, _ := store.ListDocuments(ctx, "sam")
			var found, old bool
			for _, d := range all {
				if d.Body == "step one more" && d.Title == tt.wantTitle {
					found = true
				}
				old = old || d.ID == id
			}
			if !found || old != tt.wantOld {
				t.Errorf("documents %+v: want %q with the text (old one kept: %v)", all, tt.wantTitle, tt.wantOld)
			}
		})
	}
}

// docsAction opens a Documents tab and answers its prompt for key.
func docsAction(t *testing.T, ws drivenWS, m *Manager, key, answer string) {
	t.Helper()
	for i, k := range m.reg.Kinds(false) {
		if k.Name == "documents" {
			d := rune('1' + i)
			ws.Update(ctrl('b'))
			ws.Update(propKey('c', "c", 0))
			ws.Update(propKey(d, string(d), 0))
		}
	}
	ws.Update(propKey(rune(key[0]), key, 0))
	for _, r := range answer {
		if r == 0x7f {
			ws.Update(propKey(tea.KeyBackspace, "", 0))
			continue
		}
		ws.Update(propKey(r, string(r), 0))
	}
	ws.Update(propKey(tea.KeyEnter, "", 0))
	if strings.Contains(ws.Notice, "failed") {
		t.Fatalf("%s in Documents: %s", key, ws.Notice)
	}
}
