package sessions_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
)

// heldStore holds document and chat calls at a gate while it is shut (or
// until the call's context ends), like a networked store that stopped
// answering. Every other call goes straight through.
type heldStore struct {
	sessions.Store
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting atomic.Int32  // calls held now
	loaded  atomic.Int32  // ChatHistory calls answered
}

// shut holds calls from now on; open lets them through; both idempotent.
func (g *heldStore) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate == nil {
		g.gate = make(chan struct{})
	}
}

func (g *heldStore) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *heldStore) pass(ctx context.Context) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate == nil {
		return nil
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *heldStore) CreateDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if err := g.pass(ctx); err != nil {
		return d, err
	}
	return g.Store.CreateDocument(ctx, d)
}

func (g *heldStore) GetDocument(ctx context.Context, owner, id string) (persist.Document, error) {
	if err := g.pass(ctx); err != nil {
		return persist.Document{}, err
	}
	return g.Store.GetDocument(ctx, owner, id)
}

func (g *heldStore) ListDocuments(ctx context.Context, owner string) ([]persist.Document, error) {
	if err := g.pass(ctx); err != nil {
		return nil, err
	}
	return g.Store.ListDocuments(ctx, owner)
}

func (g *heldStore) SaveDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if err := g.pass(ctx); err != nil {
		return d, err
	}
	return g.Store.SaveDocument(ctx, d)
}

func (g *heldStore) DeleteDocument(ctx context.Context, owner, id string) error {
	if err := g.pass(ctx); err != nil {
		return err
	}
	return g.Store.DeleteDocument(ctx, owner, id)
}

func (g *heldStore) PostChat(ctx context.Context, m persist.ChatMessage) (persist.ChatMessage, error) {
	if err := g.pass(ctx); err != nil {
		return m, err
	}
	return g.Store.PostChat(ctx, m)
}

func (g *heldStore) ChatHistory(ctx context.Context, room string, before int64, limit int) ([]persist.ChatMessage, error) {
	if err := g.pass(ctx); err != nil {
		return nil, err
	}
	defer g.loaded.Add(1)
	return g.Store.ChatHistory(ctx, room, before, limit)
}

// gatedEnv is an env whose manager works through a heldStore (open).
func gatedEnv(t *testing.T, p sessions.Policy) (*env, *heldStore) {
	e := newEnv(t, p)
	g := &heldStore{Store: e.store}
	t.Cleanup(g.open) // no call stays held past the test
	e.mgr = e.managerOn(g)
	if err := e.mgr.Start(context.Background()); err != nil { // the chat fan-out
		t.Fatal(err)
	}
	return e, g
}

// fast types keys (may be none) into c and fails unless its screen shows
// want within a second of starting to type: input or a frame that waits for
// the store would take the store's time (the send itself blocks while the
// session does not read).
func fast(t *testing.T, c *client, keys, want string) {
	t.Helper()
	start := time.Now()
	if keys != "" {
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.conn.Write([]byte(keys)); err != nil {
			t.Fatalf("typing %q: %v (the session did not read it within a second)", keys, err)
		}
	}
	c.scr.WaitFor(t, want, time.Second-time.Since(start))
	t.Logf("%q on screen %v after typing", want, time.Since(start).Round(time.Microsecond))
}

// Issue 8 item 2: a save or a post held the session's lock through the
// store call, so one slow query froze typing and every client's screen.
// While the store holds the call, the same client's keys echo at once,
// another client's keys too, and the acknowledgement waits for the store.
func TestStoreCallsDoNotHoldTheSession(t *testing.T) {
	tests := []struct {
		name   string
		open   string // keys that open the app
		typed  string // text before the call
		call   string // the key that makes the store call
		during string // typed while the store holds the call
		shown  string // what the screen shows then
		after  string // the acknowledgement, once the store answered
	}{
		{name: "notes save", typed: "draft", call: "\x13", during: " more", shown: "draft more", after: "saved untitled"},
		{name: "chat post", open: "\x02c3", typed: "hello", call: "\r", during: "next", shown: "> next", after: "alice: hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, g := gatedEnv(t, testPolicy())
			c := e.attach()
			c.send(tc.open + tc.typed)
			c.waitFor(tc.typed)
			if tc.open != "" { // a chat tab loads its room's history first
				waitFor(t, "the room's history", func() bool { return g.loaded.Load() > 0 })
			}

			g.shut()
			c.send(tc.call)
			waitFor(t, "the store call to be held", func() bool { return g.waiting.Load() == 1 })
			fast(t, c, tc.during, tc.shown)
			other := e.serve(e.mgr, alice, info("10.0.0.2:2002", 80, 24), "attach", "--shared")
			fast(t, other, "", tc.shown)
			fast(t, other, "!", tc.shown+"!")
			fast(t, c, "", tc.shown+"!")
			if strings.Contains(c.scr.Text(), tc.after) {
				t.Fatalf("%q shown before the store answered:\n%s", tc.after, c.scr.Text())
			}

			g.open()
			c.waitFor(tc.after)
		})
	}
}

// ctrl+s says "saved" only once the store has the text, and text typed
// while the write was in flight stays marked unsaved.
func TestSaveAcknowledgedAfterTheWrite(t *testing.T) {
	ctx := context.Background()
	e, g := gatedEnv(t, testPolicy())
	c := e.attach()
	c.send("first")
	c.waitFor("first")
	g.shut()
	c.send("\x13")
	waitFor(t, "the save to be held", func() bool { return g.waiting.Load() == 1 })
	c.send(" second")
	c.waitFor("first second")
	if docs, _ := e.store.ListDocuments(ctx, "alice"); len(docs) != 0 {
		t.Fatalf("a document exists before the write: %+v", docs)
	}
	g.open()
	c.waitFor("saved untitled")
	c.waitFor("1:untitled*") // " second" came after the save
	docs, err := e.store.ListDocuments(ctx, "alice")
	if err != nil || len(docs) != 1 || docs[0].Body != "first" {
		t.Fatalf("stored %+v, %v; want one document with the text at ctrl+s", docs, err)
	}
	c.send("\x13")
	c.scr.WaitUntil(t, "the unsaved marker to go", wait, func(text string) bool {
		return strings.HasPrefix(text, " 1:untitled\n")
	})
	if d, _ := e.store.GetDocument(ctx, "alice", docs[0].ID); d.Body != "first second" || d.Version != 2 {
		t.Errorf("second save stored %q v%d, want the whole text at v2", d.Body, d.Version)
	}
}

// Restore does no I/O: a session wakes and draws while the store holds
// every document and chat read; the apps say "loading…" until it answers.
func TestWakeWithAStoreThatDoesNotAnswer(t *testing.T) {
	ctx := context.Background()
	p := testPolicy()
	p.HibernateAfter = time.Minute
	e, g := gatedEnv(t, p)
	c := e.attach()
	c.send("\x02c3") // Chat
	c.waitFor("2:#lobby")
	c.send("\x02c2") // Documents, focused
	c.waitFor("No documents yet")
	c.send("\x02d")
	c.waitDone()
	e.clock.Advance(2 * time.Minute)
	e.mgr.Sweep(ctx)
	if in := e.only(alice); in.Live {
		t.Fatal("the session did not hibernate")
	}

	g.shut()
	start := time.Now()
	c2 := e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24))
	c2.scr.WaitFor(t, "loading…", time.Second)
	t.Logf("woke and drew in %v with the store holding every read", time.Since(start))
	fast(t, c2, "\x021typed while loading", "typed while loading")
	if n := g.waiting.Load(); n < 2 {
		t.Errorf("%d reads held; want the document list and the chat history", n)
	}
	g.open()
	c2.send("\x023")
	c2.waitFor("No documents yet")
}

// Over the rate a post is refused with "slow down" and its text comes back
// as the draft; the injected clock refills the bucket.
func TestChatSlowDown(t *testing.T) {
	e, _ := gatedEnv(t, testPolicy())
	c := e.attach()
	c.send("\x02c3")
	c.waitFor("2:#lobby")
	for i := range 10 {
		c.send(fmt.Sprintf("m%d\r", i))
		c.waitFor(fmt.Sprintf("alice: m%d", i))
	}
	c.send("one too many\r")
	c.waitFor("slow down")
	c.waitFor("> one too many")
	e.clock.Advance(200 * time.Millisecond) // one token at 5 a second
	c.send("\r")
	c.waitFor("alice: one too many")
}
