package sessions

import (
	"context"
	"errors"
	"fmt"

	"termhost/persist"
	"termhost/tui"
)

// Store is the part of persist the session layer uses.
type Store interface {
	persist.Sessions
	persist.Snapshots
	persist.Documents
	persist.Audit
	persist.Chat
	persist.Leases
	persist.Nodes
	persist.Requests
	persist.Notifier
}

// userDocs scopes the document store to one user for the apps.
type userDocs struct {
	store persist.Documents
	owner string
}

// MaxDocumentSize caps a document's body (SPEC §7); the apps know the
// same cap as tui.MaxDocumentSize.
const MaxDocumentSize = tui.MaxDocumentSize

// ErrTooLarge is returned for a document over MaxDocumentSize.
var ErrTooLarge = fmt.Errorf("document is larger than %d KiB", MaxDocumentSize>>10)

func (d userDocs) Create(ctx context.Context, title, body string) (tui.Doc, error) {
	if len(body) > MaxDocumentSize {
		return tui.Doc{}, ErrTooLarge
	}
	x, err := d.store.CreateDocument(ctx, persist.Document{Owner: d.owner, Title: title, Body: body})
	return toDoc(x), storeErr(ctx, err)
}

func (d userDocs) Get(ctx context.Context, id string) (tui.Doc, error) {
	x, err := d.store.GetDocument(ctx, d.owner, id)
	return toDoc(x), storeErr(ctx, docErr(err))
}

// docErr maps the store's not-found to tui's, so Notes can tell a deleted
// document from a failing store.
func docErr(err error) error {
	if errors.Is(err, persist.ErrNotFound) {
		return fmt.Errorf("%w (%w)", tui.ErrNotFound, err)
	}
	return err
}

// ErrStoreSlow is wrapped into the error of a store call that ran out of
// its time (tui.Env.Go's StoreTimeout), so the app's error line says why
// in words ("not saved: the store did not answer in time …").
var ErrStoreSlow = errors.New("the store did not answer in time")

// storeErr wraps err with ErrStoreSlow when ctx's deadline has passed.
func storeErr(ctx context.Context, err error) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", ErrStoreSlow, err)
	}
	return err
}

func (d userDocs) List(ctx context.Context) ([]tui.Doc, error) {
	xs, err := d.store.ListDocuments(ctx, d.owner)
	out := make([]tui.Doc, 0, len(xs))
	for _, x := range xs {
		out = append(out, toDoc(x))
	}
	return out, storeErr(ctx, err)
}

func (d userDocs) Save(ctx context.Context, doc tui.Doc) (tui.Doc, error) {
	if len(doc.Body) > MaxDocumentSize {
		return doc, ErrTooLarge
	}
	x, err := d.store.SaveDocument(ctx, persist.Document{ID: doc.ID, Owner: d.owner, Title: doc.Title, Body: doc.Body, Version: doc.Version})
	if err != nil {
		if isConflict(err) {
			return doc, tui.ErrConflict
		}
		return doc, storeErr(ctx, docErr(err))
	}
	return toDoc(x), nil
}

func (d userDocs) Delete(ctx context.Context, id string) error {
	return storeErr(ctx, d.store.DeleteDocument(ctx, d.owner, id))
}

func toDoc(x persist.Document) tui.Doc {
	return tui.Doc{ID: x.ID, Title: x.Title, Body: x.Body, Version: x.Version}
}
