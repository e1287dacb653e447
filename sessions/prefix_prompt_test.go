package sessions_test

import (
	"context"
	"testing"

	"termhost/persist"
)

// ctrl+b d detaches from anywhere (issue 9), also from inside an app's own
// prompt: the Documents "new title", rename and delete prompts and a Chat
// draft. The prompt takes neither key, keeps its text across the detach,
// and its answer after the reattach is exactly what was typed.
func TestDetachFromAppPrompts(t *testing.T) {
	tests := []struct {
		name   string
		open   string // keys that open the app, then wait for ready
		ready  string
		typed  string // keys that open the prompt and type into it
		shown  string // the prompt with its text, before and after
		answer string // keys after the reattach
		after  string // on screen after the answer
		title  string // a stored document then has this title ("": no check)
	}{
		{name: "documents new title", open: "\x02c2", ready: "No documents yet", typed: "nPlan", shown: "New document title: Plan",
			answer: "\r", after: "3:Plan", title: "Plan"},
		{name: "documents rename", open: "\x02c2", ready: " v1", typed: "rX", shown: "Rename to: planX",
			answer: "\r", after: "planX", title: "planX"},
		{name: "documents delete", open: "\x02c2", ready: " v1", typed: "Dye", shown: `Delete "plan"? type yes: ye`,
			answer: "s\r", after: "No documents yet"},
		{name: "chat draft", open: "\x02c3", ready: "2:#lobby", typed: "hello", shown: "> hello",
			answer: "\r", after: "alice: hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, testPolicy())
			if err := e.mgr.Start(ctx); err != nil { // the chat fan-out
				t.Fatal(err)
			}
			if tt.ready == " v1" {
				if _, err := e.store.CreateDocument(ctx, persist.Document{Owner: "alice", Title: "plan", Body: "text"}); err != nil {
					t.Fatal(err)
				}
			}
			c := e.attach()
			c.send(tt.open)
			c.waitFor(tt.ready)
			c.send(tt.typed)
			c.waitFor(tt.shown)
			c.send("\x02d")
			if err := c.waitDone(); err != nil {
				t.Fatalf("detach from the prompt: %v", err)
			}
			if in := e.only(alice); len(in.Clients) != 0 {
				t.Fatalf("still %d client(s) after ctrl+b d", len(in.Clients))
			}

			c2 := e.serve(e.mgr, alice, info("10.0.0.1:1002", 80, 24))
			c2.waitFor(tt.shown) // neither ctrl+b nor d reached the prompt
			c2.send(tt.answer)
			c2.waitFor(tt.after)
			if tt.title != "" {
				// The list shows the answer as the app's command is issued;
				// the store write lands a moment later, off the session's lock.
				waitFor(t, "the document titled "+tt.title, func() bool {
					docs, err := e.store.ListDocuments(ctx, "alice")
					return err == nil && len(docs) == 1 && docs[0].Title == tt.title
				})
			}
		})
	}
}
