package sessions_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
	"termhost/tui/apps"
)

// A drain left for an earlier run of a node is dropped when the node
// starts again (newcomer trial: a node drained, stopped and restarted
// quit on its own); one posted once it runs is carried out.
func TestStaleDrainRequestDropped(t *testing.T) {
	e := newEnv(t, testPolicy())
	ctx := context.Background()
	if _, err := e.store.PostRequest(ctx, persist.Request{Node: "n9", Kind: persist.RequestDrain, Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{}, 2)
	p := e.policy
	p.LeaseTTL = 300 * time.Millisecond // renewals, which take requests, every 100 ms
	m := sessions.NewManager(sessions.Config{Store: e.store, Clock: e.clock, Policy: p, Node: "n9",
		Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		OnDrain: func() { drained <- struct{}{} }})
	t.Cleanup(func() { m.Shutdown(ctx, "test over") })
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stale request to be dropped", func() bool {
		return strings.Contains(e.logs.String(), "drain request left for an earlier run of this node dropped")
	})
	if _, err := e.store.PostRequest(ctx, persist.Request{Node: "n9", Kind: persist.RequestDrain, Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	case <-time.After(wait):
		t.Fatal("a drain requested while the node runs was not carried out")
	}
	select {
	case <-drained:
		t.Fatal("the request from before the start was carried out too")
	case <-time.After(300 * time.Millisecond): // three renewals
	}
}

// An admin verb for a session whose node does not answer says why it may
// not and when to try again (newcomer trial: a kill right after kill -9 of
// the owner only said "not done after 5s").
func TestVerbOnUnansweringNodeSaysWhen(t *testing.T) {
	e, _, b, _ := pausedOwner(t, 10*time.Second, "typed on a")
	err := b.Kill(context.Background(), e.only(alice).ID, "root")
	if err == nil || !strings.Contains(err.Error(), "if that node is down, the session is free once its lease (10s) runs out") {
		t.Fatalf("Kill of a session on a node that does not answer: %v", err)
	}
}
