package notes_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
	"termhost/tui/notes"
)

// held is a Notes tab whose store calls wait until the test drains them,
// as calls in flight do in a session.
type held struct {
	app     tui.App
	docs    *fakeDocs
	run     runner
	notices []string
}

func newHeld(t *testing.T) *held {
	h := &held{docs: newFakeDocs()}
	h.app = notes.Kind().New(h.env(), "")
	return h
}

func (h *held) env() tui.Env {
	return tui.Env{User: "alice", Docs: h.docs, Run: h.run.run, Notify: func(m string) { h.notices = append(h.notices, m) }}
}

func (h *held) typeText(s string) {
	for _, r := range s {
		h.app.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (h *held) ctrlS() { h.app.Update(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}) }

func (h *held) saidSaved() bool {
	return slices.ContainsFunc(h.notices, func(n string) bool { return strings.HasPrefix(n, "saved") })
}

// SPEC §5: ctrl+s is acknowledged only once the store has the text; text
// typed while the write is in flight stays unsaved.
func TestSaveAcknowledgedOnlyAfterTheWrite(t *testing.T) {
	h := newHeld(t)
	h.typeText("draft")
	h.ctrlS()
	h.typeText(" more")
	if h.saidSaved() || len(h.docs.docs) != 0 {
		t.Fatalf("before the write: notices %v, stored %v", h.notices, h.docs.docs)
	}
	h.run.drain(h.app)
	if !h.saidSaved() {
		t.Fatalf("no acknowledgement after the write: %v", h.notices)
	}
	if got := h.app.Title(); got != "untitled*" {
		t.Errorf("title %q: text typed during the save must stay marked unsaved", got)
	}
	if d := h.docs.docs["doc1"]; d.Body != "draft" {
		t.Errorf("stored %q, want the text at ctrl+s", d.Body)
	}
}

// ctrl+s pressed while a save is in flight saves again after it: a new
// document is created once, and the last text lands.
func TestSaveWhileSaving(t *testing.T) {
	h := newHeld(t)
	h.typeText("one")
	h.ctrlS()
	h.typeText(" two")
	h.ctrlS()
	h.ctrlS()
	h.run.drain(h.app)
	if len(h.docs.docs) != 1 {
		t.Fatalf("%d documents created, want 1", len(h.docs.docs))
	}
	if d := h.docs.docs["doc1"]; d.Body != "one two" || d.Version != 2 {
		t.Errorf("stored %q v%d, want the whole text at v2", d.Body, d.Version)
	}
	if got := h.app.Title(); got != "untitled" {
		t.Errorf("title %q, want saved", got)
	}
}

// Restore reads nothing: a tab restored from a snapshot has its text, and
// unsaved text is never replaced by the stored one. Only a tab that was
// still loading reads its document again.
func TestRestoreDoesNoIO(t *testing.T) {
	tests := []struct {
		name    string
		state   string
		reads   int
		wantTxt string
	}{
		{name: "unsaved text", state: `{"doc":"doc1","title":"plan","body":"mine, unsaved","version":1,"dirty":true}`, wantTxt: "mine, unsaved"},
		{name: "saved text", state: `{"doc":"doc1","title":"plan","body":"stored","version":1}`, wantTxt: "stored"},
		{name: "still loading", state: `{"doc":"doc1","loading":true}`, reads: 1, wantTxt: "stored, newer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &held{docs: newFakeDocs()}
			h.docs.Create(context.Background(), "plan", "stored, newer")
			app, err := notes.Kind().Restore(h.env(), notes.Version, json.RawMessage(tc.state))
			if err != nil {
				t.Fatal(err)
			}
			h.app = app
			if n := len(h.run.cmds); n != tc.reads {
				t.Errorf("Restore issued %d reads, want %d", n, tc.reads)
			}
			h.run.drain(app)
			if v, _ := app.View(40, 5); !strings.Contains(v, tc.wantTxt) {
				t.Errorf("view %q, want %q", v, tc.wantTxt)
			}
		})
	}
}

// Keys typed before an opened document arrives would be overwritten by
// it: they are refused, with a word.
func TestKeysWaitForTheDocument(t *testing.T) {
	h := &held{docs: newFakeDocs()}
	d, _ := h.docs.Create(context.Background(), "plan", "text")
	h.app = notes.Kind().New(h.env(), d.ID)
	h.typeText("early")
	h.app.Update(tea.PasteMsg{Content: "pasted"})
	if !slices.Contains(h.notices, "still loading the document") {
		t.Errorf("notices %v, want a word about loading", h.notices)
	}
	h.run.drain(h.app)
	h.typeText("!")
	raw, _ := h.app.State()
	if !strings.Contains(string(raw), `"body":"!text"`) {
		t.Errorf("state %s, want the document's text with only the later key", raw)
	}
}
