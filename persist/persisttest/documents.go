package persisttest

import (
	"context"
	"slices"
	"testing"

	"termhost/persist"
)

func testDocuments(t *testing.T, fresh opener) {
	t.Run("CreateGet", func(t *testing.T) { documentCreateGet(t, fresh(t)) })
	t.Run("OwnerOnly", func(t *testing.T) { documentOwnerOnly(t, fresh) })
	t.Run("List", func(t *testing.T) { documentList(t, fresh(t)) })
	t.Run("SaveVersions", func(t *testing.T) { documentSave(t, fresh(t)) })
	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		d := createDoc(t, s, "alice", "gone", "soon")
		keep := createDoc(t, s, "alice", "kept", "still here")
		noErr(t, s.DeleteDocument(t.Context(), "alice", d.ID), "DeleteDocument")
		_, err := s.GetDocument(t.Context(), "alice", d.ID)
		wantErr(t, err, persist.ErrNotFound, "GetDocument after delete")
		wantErr(t, s.DeleteDocument(t.Context(), "alice", d.ID), persist.ErrNotFound, "DeleteDocument again")
		_, err = s.GetDocument(t.Context(), "alice", keep.ID)
		noErr(t, err, "GetDocument of the other document")
	})
	t.Run("MissingNotFound", func(t *testing.T) { documentMissing(t, fresh) })
}

func createDoc(t *testing.T, s persist.Store, owner, title, body string) persist.Document {
	t.Helper()
	d, err := s.CreateDocument(t.Context(), persist.Document{Owner: owner, Title: title, Body: body})
	noErr(t, err, "CreateDocument "+owner+"/"+title)
	return d
}

func documentCreateGet(t *testing.T, s persist.Store) {
	body := "line one\nline two\ttabbed\n\nünïcödé ✓ and a quote ' and \" \\"
	d := createDoc(t, s, "alice", "Notes", body)
	if d.ID == "" || d.Version != 1 || d.Owner != "alice" || d.Title != "Notes" || d.Body != body {
		t.Fatalf("CreateDocument = %+v, want an id, version 1 and the fields given", d)
	}
	d2 := createDoc(t, s, "alice", "Notes", body)
	if d2.ID == d.ID {
		t.Fatalf("two documents got the same id %q", d.ID)
	}
	got, err := s.GetDocument(t.Context(), "alice", d.ID)
	noErr(t, err, "GetDocument")
	checkDoc(t, got, d)
}

func documentOwnerOnly(t *testing.T, fresh opener) {
	// Every operation by bob on alice's document behaves as if it did not
	// exist, and leaves it as it was.
	tests := []struct {
		name string
		op   func(ctx context.Context, s persist.Store, d persist.Document) error
	}{
		{"get", func(ctx context.Context, s persist.Store, d persist.Document) error {
			_, err := s.GetDocument(ctx, "bob", d.ID)
			return err
		}},
		{"save", func(ctx context.Context, s persist.Store, d persist.Document) error {
			d.Owner, d.Body = "bob", "hijacked"
			_, err := s.SaveDocument(ctx, d)
			return err
		}},
		{"delete", func(ctx context.Context, s persist.Store, d persist.Document) error {
			return s.DeleteDocument(ctx, "bob", d.ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			d := createDoc(t, s, "alice", "private", "alice only")
			createDoc(t, s, "bob", "bob's", "bob's own")
			wantErr(t, tt.op(t.Context(), s, d), persist.ErrNotFound, tt.name+" by another user")
			got, err := s.GetDocument(t.Context(), "alice", d.ID)
			noErr(t, err, "GetDocument by the owner")
			checkDoc(t, got, d)
		})
	}
}

func documentList(t *testing.T, s persist.Store) {
	ctx := t.Context()
	got, err := s.ListDocuments(ctx, "alice")
	noErr(t, err, "ListDocuments before any")
	if len(got) != 0 {
		t.Fatalf("ListDocuments before any = %d, want 0", len(got))
	}
	want := []string{
		createDoc(t, s, "alice", "b", "").ID,
		createDoc(t, s, "alice", "a", "").ID,
		createDoc(t, s, "alice", "c", "").ID,
	}
	createDoc(t, s, "bob", "a", "")
	got, err = s.ListDocuments(ctx, "alice")
	noErr(t, err, "ListDocuments")
	var ids []string
	for _, d := range got {
		if d.Owner != "alice" {
			t.Errorf("ListDocuments(alice) holds %s's document %s", d.Owner, d.ID)
		}
		ids = append(ids, d.ID)
	}
	slices.Sort(ids) // the contract fixes no order
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("ListDocuments(alice) = %q, want %q", ids, want)
	}
}

func documentSave(t *testing.T, s persist.Store) {
	ctx := t.Context()
	v1 := createDoc(t, s, "alice", "draft", "one")

	edit := v1
	edit.Title, edit.Body = "final", "two"
	v2, err := s.SaveDocument(ctx, edit)
	noErr(t, err, "SaveDocument at the current version")
	if v2.Version != 2 || v2.ID != v1.ID || v2.Title != "final" || v2.Body != "two" {
		t.Fatalf("SaveDocument = %+v, want version 2 with the new title and body", v2)
	}
	got, err := s.GetDocument(ctx, "alice", v1.ID)
	noErr(t, err, "GetDocument")
	checkDoc(t, got, v2)

	// A writer still holding version 1 loses.
	stale := v1
	stale.Body = "lost update"
	_, err = s.SaveDocument(ctx, stale)
	wantErr(t, err, persist.ErrConflict, "SaveDocument at an old version")
	got, err = s.GetDocument(ctx, "alice", v1.ID)
	noErr(t, err, "GetDocument after conflict")
	checkDoc(t, got, v2)

	v2.Body = "three"
	v3, err := s.SaveDocument(ctx, v2)
	noErr(t, err, "SaveDocument again")
	if v3.Version != 3 {
		t.Fatalf("second save = version %d, want 3", v3.Version)
	}
}

func documentMissing(t *testing.T, fresh opener) {
	tests := []struct {
		name string
		op   func(ctx context.Context, s persist.Store) error
	}{
		{"get", func(ctx context.Context, s persist.Store) error {
			_, err := s.GetDocument(ctx, "alice", "nosuchdoc")
			return err
		}},
		{"save", func(ctx context.Context, s persist.Store) error {
			_, err := s.SaveDocument(ctx, persist.Document{ID: "nosuchdoc", Owner: "alice", Version: 1})
			return err
		}},
		{"delete", func(ctx context.Context, s persist.Store) error {
			return s.DeleteDocument(ctx, "alice", "nosuchdoc")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			createDoc(t, s, "alice", "real", "")
			wantErr(t, tt.op(t.Context(), s), persist.ErrNotFound, tt.name+" of a missing document")
		})
	}
}

func checkDoc(t *testing.T, got, want persist.Document) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Title != want.Title || got.Body != want.Body || got.Version != want.Version {
		t.Errorf("document = %+v\nwant %+v", got, want)
	}
	if !sameMS(got.UpdatedAt, want.UpdatedAt) || got.UpdatedAt.IsZero() {
		t.Errorf("document %s updated_at = %v, want %v (non-zero)", want.ID, got.UpdatedAt, want.UpdatedAt)
	}
}
