package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
)

// Admin operations and what the attached client sees.
func TestAdminOps(t *testing.T) {
	tests := []struct {
		name      string
		op        func(m *sessions.Manager, id string) error
		clientMsg string // shown to the client
		gone      bool   // the client is disconnected
		state     string // stored state afterwards
		event     string
	}{
		{
			name:      "kill",
			op:        func(m *sessions.Manager, id string) error { return m.Kill(context.Background(), id, "root") },
			clientMsg: "[session 1 ended: killed by root]", gone: true, state: persist.StateEnded, event: "ended",
		},
		{
			name: "detach",
			op: func(m *sessions.Manager, id string) error {
				n, err := m.Detach(context.Background(), id, "root")
				if err == nil && n != 1 {
					return errors.New("Detach did not report one client")
				}
				return err
			},
			clientMsg: "[detached by root]", gone: true, state: persist.StateDetached, event: "detached",
		},
		{
			name: "message",
			op: func(m *sessions.Manager, id string) error {
				n, err := m.Message(context.Background(), id, "root", "maintenance at noon")
				if err == nil && n != 1 {
					return errors.New("Message did not report one session")
				}
				return err
			},
			clientMsg: "message from root: maintenance at noon", state: persist.StateAttached, event: "message",
		},
		{
			name: "message to all",
			op: func(m *sessions.Manager, _ string) error {
				_, err := m.Message(context.Background(), "", "root", "hello everyone")
				return err
			},
			clientMsg: "message from root: hello everyone", state: persist.StateAttached, event: "message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach()
			id := e.only(alice).ID
			if err := tt.op(e.mgr, id); err != nil {
				t.Fatalf("op: %v", err)
			}
			c.waitFor(tt.clientMsg)
			if tt.gone {
				c.waitDone()
			}
			if r := e.record(id); r.State != tt.state {
				t.Errorf("stored state = %s, want %s", r.State, tt.state)
			}
			kinds := e.kinds(e.mgr, id)
			if kinds[len(kinds)-1] != tt.event {
				t.Errorf("history = %v, want it to end with %s", kinds, tt.event)
			}
		})
	}
}

func TestAdminOpsOnSessionsNotLive(t *testing.T) {
	p := testPolicy()
	p.HibernateAfter = time.Minute
	e := newEnv(t, p)
	c := e.attach()
	c.send("\x02d")
	c.waitDone()
	id := e.only(alice).ID
	e.clock.Advance(time.Minute)
	e.mgr.Sweep(context.Background())
	ctx := context.Background()

	if n, err := e.mgr.Detach(ctx, id, "root"); n != 0 || err != nil {
		t.Errorf("Detach(hibernated) = %d, %v; want 0, nil", n, err)
	}
	if _, err := e.mgr.Message(ctx, id, "root", "hi"); err == nil || !strings.Contains(err.Error(), "not live") {
		t.Errorf("Message(hibernated) = %v, want a not-delivered error", err)
	}
	if err := e.mgr.Kill(ctx, id, "root"); err != nil {
		t.Fatalf("Kill(hibernated) = %v", err)
	}
	if r := e.record(id); r.State != persist.StateEnded || r.EndReason != "killed by root" {
		t.Errorf("record = %s/%q, want ended/killed by root", r.State, r.EndReason)
	}
	if err := e.mgr.Kill(ctx, id, "root"); !errors.Is(err, sessions.ErrNoSession) {
		t.Errorf("Kill(ended) = %v, want ErrNoSession", err)
	}
	for name, err := range map[string]error{
		"Kill":    e.mgr.Kill(ctx, "nosuchid", "root"),
		"Detach":  second(e.mgr.Detach(ctx, "nosuchid", "root")),
		"Message": second(e.mgr.Message(ctx, "nosuchid", "root", "x")),
	} {
		if !errors.Is(err, persist.ErrNotFound) {
			t.Errorf("%s(unknown id) = %v, want ErrNotFound", name, err)
		}
	}
}

func second(_ int, err error) error { return err }

func TestFind(t *testing.T) {
	e := newEnv(t, testPolicy())
	ctx := context.Background()
	now := e.clock.Now()
	for _, r := range []persist.Session{
		{ID: "abcdefaaaaaaaaaaaaaaaaaaaa", Owner: "alice", Name: "work"},
		{ID: "abcdefbbbbbbbbbbbbbbbbbbbb", Owner: "alice", Name: "play"},
		{ID: "zyxwvuaaaaaaaaaaaaaaaaaaaa", Owner: "bob", Name: "work"},
	} {
		r.State, r.Node, r.CreatedAt, r.LastInputAt, r.DetachedAt = persist.StateHibernated, "n1", now, now, now
		if err := e.store.CreateSession(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, owner, ref string
		wantID           string
		wantErr          error
	}{
		{name: "own name", owner: "alice", ref: "work", wantID: "abcdefaaaaaaaaaaaaaaaaaaaa"},
		{name: "other user's name", owner: "bob", ref: "work", wantID: "zyxwvuaaaaaaaaaaaaaaaaaaaa"},
		{name: "full id", owner: "alice", ref: "abcdefbbbbbbbbbbbbbbbbbbbb", wantID: "abcdefbbbbbbbbbbbbbbbbbbbb"},
		{name: "7-char prefix", owner: "alice", ref: "abcdefb", wantID: "abcdefbbbbbbbbbbbbbbbbbbbb"},
		{name: "upper-case prefix", owner: "alice", ref: "ABCDEFB", wantID: "abcdefbbbbbbbbbbbbbbbbbbbb"},
		{name: "6-char prefix, one match", owner: "", ref: "zyxwvu", wantID: "zyxwvuaaaaaaaaaaaaaaaaaaaa"},
		{name: "ambiguous prefix", owner: "alice", ref: "abcdef", wantErr: sessions.ErrAmbiguous},
		{name: "5-char prefix is too short", owner: "", ref: "zyxwv", wantErr: sessions.ErrNoSession},
		{name: "another user's id is not found", owner: "alice", ref: "zyxwvuaaaa", wantErr: sessions.ErrNoSession},
		{name: "another user's name is not found", owner: "bob", ref: "play", wantErr: sessions.ErrNoSession},
		{name: "admin: name of two users", owner: "", ref: "work", wantErr: sessions.ErrAmbiguous},
		{name: "unknown", owner: "alice", ref: "nothing", wantErr: sessions.ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.mgr.Find(ctx, tt.owner, tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Find(%q, %q) = %s, %v; want %v", tt.owner, tt.ref, r.ID, err, tt.wantErr)
				}
				return
			}
			if err != nil || r.ID != tt.wantID {
				t.Fatalf("Find(%q, %q) = %s, %v; want %s", tt.owner, tt.ref, r.ID, err, tt.wantID)
			}
		})
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	p := testPolicy()
	p.MaxSessionsPerUser = 2
	e := newEnv(t, p)
	ctx := context.Background()
	first, err := e.mgr.Create(ctx, alice, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.Create(ctx, alice, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.Create(ctx, alice, ""); !errors.Is(err, sessions.ErrTooMany) {
		t.Fatalf("third Create = %v, want ErrTooMany", err)
	}
	if _, err := e.mgr.Create(ctx, bob, ""); err != nil {
		t.Errorf("another user's Create = %v; the cap is per user", err)
	}
	c := e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24), "new")
	if err := c.waitDone(); !errors.Is(err, sessions.ErrTooMany) {
		t.Errorf("Serve(new) over the cap = %v, want ErrTooMany", err)
	}
	c.waitFor("error: too many sessions")
	if err := e.mgr.Kill(ctx, first.ID(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.Create(ctx, alice, ""); err != nil {
		t.Errorf("Create after ending one = %v; ended sessions must not count", err)
	}
}

// A client that stopped reading must not hold up one attached --shared:
// its output queue is bounded and dropped, never waited for.
func TestStalledClientDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t, testPolicy())
	inR, inW := ioPipe()
	stalled := newStubConn(inR, nil)
	stalled.Writer = stallWriter{closed: stalled.closed}
	done := make(chan error, 1)
	go func() { done <- e.mgr.Serve(context.Background(), stalled, info("10.6.6.6:666", 200, 60), alice, nil) }()
	t.Cleanup(func() {
		stalled.Close()
		inW.Close()
		<-done
	})
	waitFor(t, "the stalled client to attach", func() bool {
		infos, _ := e.mgr.List(context.Background(), "alice", "")
		return len(infos) == 1 && len(infos[0].Clients) == 1
	})

	c := e.serve(e.mgr, alice, info("10.0.0.1:1001", 200, 60), "attach", "--shared")
	c.waitFor(" alice · ")
	// A full page of text, then page flips that each repaint the screen:
	// far more output than the stalled client's queue may hold.
	var doc strings.Builder
	for i := range 400 {
		fmt.Fprintf(&doc, "%03d %s\r", i, strings.Repeat(string(rune('a'+i%26)), 180))
	}
	c.send(doc.String())
	c.waitFor("399 ")
	for range 12 {
		for _, key := range []string{"\x1b[5~", "\x1b[5~", "\x1b[5~", "\x1b[5~", "\x1b[5~", "\x1b[6~", "\x1b[6~", "\x1b[6~", "\x1b[6~", "\x1b[6~"} {
			c.send(key)
		}
	}
	c.send("still echoing")
	c.waitFor("still echoing")
	t.Logf("raw bytes %d", len(c.scr.Raw()))
}

// "ssh -tt host </dev/null": input ends at once; Serve must return and
// leave the session detached rather than hang.
func TestInputEOFDetaches(t *testing.T) {
	e := newEnv(t, testPolicy())
	out := screen(t)
	conn := newStubConn(eofReader{}, out)
	done := make(chan error, 1)
	go func() { done <- e.mgr.Serve(context.Background(), conn, info("10.0.0.1:1001", 80, 24), alice, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after input EOF")
	}
	in := e.only(alice)
	if in.State != persist.StateDetached || len(in.Clients) != 0 {
		t.Errorf("after EOF: state %s with %d clients, want detached with none", in.State, len(in.Clients))
	}
	select {
	case <-conn.closed:
	case <-time.After(wait):
		t.Error("the connection was not closed")
	}
}
