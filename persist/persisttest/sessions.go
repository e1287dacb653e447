package persisttest

import (
	"slices"
	"testing"
	"time"

	"termhost/persist"
)

func testSessions(t *testing.T, fresh opener) {
	t.Run("CreateGet", func(t *testing.T) { sessionCreateGet(t, fresh(t)) })
	t.Run("MissingNotFound", func(t *testing.T) {
		s := fresh(t)
		_, err := s.GetSession(t.Context(), newID())
		wantErr(t, err, persist.ErrNotFound, "GetSession of unknown id")
	})
	t.Run("DuplicateIDExists", func(t *testing.T) {
		s := fresh(t)
		a := newSession("alice", "one")
		noErr(t, s.CreateSession(t.Context(), a, 0), "CreateSession")
		b := newSession("bob", "two")
		b.ID = a.ID
		wantErr(t, s.CreateSession(t.Context(), b, 0), persist.ErrExists, "CreateSession with a used id")
	})
	t.Run("ListFilters", func(t *testing.T) { sessionListFilters(t, fresh) })
	t.Run("NameUniquePerOwner", func(t *testing.T) { sessionNames(t, fresh(t)) })
	t.Run("UpdateFenced", func(t *testing.T) { sessionUpdateFenced(t, fresh) })
	t.Run("HandOff", func(t *testing.T) { sessionHandOff(t, fresh(t)) })
	t.Run("AppsRoundTrip", func(t *testing.T) { sessionApps(t, fresh) })
	t.Run("Events", func(t *testing.T) { sessionEvents(t, fresh(t)) })
}

// newSession is a live, attached session record with a fresh id.
func newSession(owner, name string) persist.Session {
	return persist.Session{
		ID:          newID(),
		Owner:       owner,
		Name:        name,
		State:       persist.StateAttached,
		Node:        "node-a",
		CreatedAt:   t0,
		LastInputAt: t0.Add(90*time.Second + 123*time.Millisecond),
	}
}

func sessionCreateGet(t *testing.T, s persist.Store) {
	want := newSession("alice", "work")
	want.State = persist.StateDetached
	want.DetachedAt = t0.Add(5*time.Minute + 7*time.Millisecond)
	want.Apps = []persist.App{{App: "notes", Documents: []string{"d1"}}}
	noErr(t, s.CreateSession(t.Context(), want, 0), "CreateSession")
	got, err := s.GetSession(t.Context(), want.ID)
	noErr(t, err, "GetSession")
	checkSession(t, got, want)
}

func sessionListFilters(t *testing.T, fresh opener) {
	s := fresh(t)
	mk := func(owner, name, state string) string {
		r := newSession(owner, name)
		r.State = state
		if state == persist.StateEnded {
			r.EndedAt, r.EndReason = t0.Add(time.Hour), "quit"
		}
		noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession "+owner+"/"+name)
		return r.ID
	}
	a1 := mk("alice", "a1", persist.StateAttached)
	a2 := mk("alice", "a2", persist.StateDetached)
	a3 := mk("alice", "a3", persist.StateEnded)
	b1 := mk("bob", "b1", persist.StateHibernated)
	b2 := mk("bob", "b2", persist.StateEnded)

	tests := []struct {
		name string
		f    persist.SessionFilter
		want []string
	}{
		{"zero filter excludes ended", persist.SessionFilter{}, []string{a1, a2, b1}},
		{"include ended", persist.SessionFilter{IncludeEnd: true}, []string{a1, a2, a3, b1, b2}},
		{"owner", persist.SessionFilter{Owner: "alice"}, []string{a1, a2}},
		{"owner include ended", persist.SessionFilter{Owner: "bob", IncludeEnd: true}, []string{b1, b2}},
		{"state", persist.SessionFilter{State: persist.StateDetached}, []string{a2}},
		{"state ended implies ended", persist.SessionFilter{State: persist.StateEnded}, []string{a3, b2}},
		{"owner and state", persist.SessionFilter{Owner: "alice", State: persist.StateEnded}, []string{a3}},
		{"owner and other state", persist.SessionFilter{Owner: "bob", State: persist.StateAttached}, nil},
		{"unknown owner", persist.SessionFilter{Owner: "nobody", IncludeEnd: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListSessions(t.Context(), tt.f)
			noErr(t, err, "ListSessions")
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			// The contract fixes no order; compare as sets.
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ids, want) {
				t.Fatalf("ListSessions(%+v) = %q, want %q", tt.f, ids, want)
			}
		})
	}
}

func sessionNames(t *testing.T, s persist.Store) {
	ctx := t.Context()
	first := newSession("alice", "work")
	noErr(t, s.CreateSession(ctx, first, 0), "CreateSession alice/work")
	wantErr(t, s.CreateSession(ctx, newSession("alice", "work"), 0), persist.ErrExists, "second live alice/work")
	noErr(t, s.CreateSession(ctx, newSession("bob", "work"), 0), "bob/work beside alice/work")
	noErr(t, s.CreateSession(ctx, newSession("alice", "play"), 0), "alice/play beside alice/work")

	// Ending the session frees its name; ended sessions may share a name.
	end := func(r persist.Session) {
		t.Helper()
		r.State, r.EndedAt, r.EndReason = persist.StateEnded, t0.Add(time.Hour), "quit"
		noErr(t, s.UpdateSession(ctx, r), "end "+r.Owner+"/"+r.Name)
	}
	end(first)
	second := newSession("alice", "work")
	noErr(t, s.CreateSession(ctx, second, 0), "alice/work after the first ended")
	end(second)
	noErr(t, s.CreateSession(ctx, newSession("alice", "work"), 0), "alice/work after two ended")
}

func sessionUpdateFenced(t *testing.T, fresh opener) {
	t.Run("owner writes", func(t *testing.T) {
		s := fresh(t)
		r := newSession("alice", "work")
		noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession")
		epoch, err := takeOver(t, s, r.ID, "node-b")
		noErr(t, err, "takeOver")
		r.Epoch, r.Node = epoch, "node-b"
		r.State = persist.StateEnded
		r.LastInputAt = t0.Add(2 * time.Minute)
		r.DetachedAt = t0.Add(150 * time.Second)
		r.EndedAt, r.EndReason = t0.Add(3*time.Minute), "killed"
		r.Apps = []persist.App{{App: "chat", Documents: []string{}}}
		noErr(t, s.UpdateSession(t.Context(), r), "UpdateSession with the current epoch")
		got, err := s.GetSession(t.Context(), r.ID)
		noErr(t, err, "GetSession")
		checkSession(t, got, r)
	})

	tests := []struct {
		name    string
		epoch   func(cur int64) int64
		unknown bool
		want    error
	}{
		{"stale epoch", func(cur int64) int64 { return cur - 1 }, false, persist.ErrLeaseLost},
		{"future epoch", func(cur int64) int64 { return cur + 1 }, false, persist.ErrLeaseLost},
		{"unknown id", func(cur int64) int64 { return cur }, true, persist.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			r := newSession("alice", "work")
			noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession")
			cur, err := takeOver(t, s, r.ID, "node-b")
			noErr(t, err, "takeOver")
			before, err := s.GetSession(t.Context(), r.ID)
			noErr(t, err, "GetSession")

			w := before
			w.Epoch = tt.epoch(cur)
			w.State, w.Node, w.LastInputAt = persist.StateDetached, "node-stale", t0.Add(time.Hour)
			if tt.unknown {
				w.ID = newID()
			}
			wantErr(t, s.UpdateSession(t.Context(), w), tt.want, "UpdateSession")
			after, err := s.GetSession(t.Context(), r.ID)
			noErr(t, err, "GetSession after refused update")
			checkSession(t, after, before)
		})
	}
}

func sessionHandOff(t *testing.T, s persist.Store) {
	ctx := t.Context()
	r := newSession("alice", "work")
	noErr(t, s.CreateSession(ctx, r, 0), "CreateSession")
	last := r.Epoch
	for _, node := range []string{"node-a", "node-b", "node-c", "node-b"} {
		epoch, err := takeOver(t, s, r.ID, node)
		noErr(t, err, "takeOver by "+node)
		if epoch != last+1 {
			t.Fatalf("takeOver by %s = epoch %d, want %d", node, epoch, last+1)
		}
		last = epoch
		got, err := s.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession")
		if got.Epoch != epoch || got.Node != node {
			t.Fatalf("after takeOver by %s: epoch %d node %q, want %d %q", node, got.Epoch, got.Node, epoch, node)
		}
	}
	_, err := s.AcquireLease(ctx, newID(), persist.Owner{Node: "node-a", Boot: "boot"}, time.Minute)
	wantErr(t, err, persist.ErrNotFound, "AcquireLease of unknown id")

	// The previous owner is fenced off.
	stale := r
	stale.Epoch = last - 1
	wantErr(t, s.UpdateSession(ctx, stale), persist.ErrLeaseLost, "UpdateSession by the previous owner")
}

func sessionApps(t *testing.T, fresh opener) {
	tests := []struct {
		name string
		apps []persist.App
	}{
		{"none", nil},
		{"one notes tab", []persist.App{{App: "notes", Documents: []string{"doc1"}}}},
		{"several tabs in order", []persist.App{
			{App: "notes", Documents: []string{"doc1", "doc2"}},
			{App: "chat", Documents: []string{}},
			{App: "documents", Documents: []string{"a \"quoted\" title", "ünïcödé"}},
			{App: "notes", Documents: []string{"doc1"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			r := newSession("alice", "work")
			r.Apps = tt.apps
			noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession")
			got, err := s.GetSession(t.Context(), r.ID)
			noErr(t, err, "GetSession")
			checkApps(t, "after create", got.Apps, tt.apps)

			// And through UpdateSession, in reverse order.
			r.Apps = slices.Clone(tt.apps)
			slices.Reverse(r.Apps)
			noErr(t, s.UpdateSession(t.Context(), r), "UpdateSession")
			got, err = s.GetSession(t.Context(), r.ID)
			noErr(t, err, "GetSession")
			checkApps(t, "after update", got.Apps, r.Apps)
		})
	}
}

func sessionEvents(t *testing.T, s persist.Store) {
	ctx := t.Context()
	a, b := newSession("alice", "a"), newSession("bob", "b")
	noErr(t, s.CreateSession(ctx, a, 0), "CreateSession a")
	noErr(t, s.CreateSession(ctx, b, 0), "CreateSession b")

	got, err := s.Events(ctx, a.ID)
	noErr(t, err, "Events before any")
	if len(got) != 0 {
		t.Fatalf("Events before any = %d, want 0", len(got))
	}
	// Several events share a timestamp: order is the order of appends,
	// not of times.
	at := t0.Add(time.Minute)
	wantA := []persist.Event{
		{SessionID: a.ID, At: at, Kind: "created", Actor: "alice", Remote: "192.0.2.1:5000"},
		{SessionID: a.ID, At: at, Kind: "attached", Actor: "alice", Remote: "192.0.2.1:5000", Detail: "ssh"},
		{SessionID: a.ID, At: at, Kind: "detached", Actor: "system", Detail: "idle"},
		{SessionID: a.ID, At: at.Add(-time.Second), Kind: "message", Actor: "root", Detail: "maintenance at 5, ünïcödé ✓"},
		{SessionID: a.ID, At: at.Add(time.Hour), Kind: "ended", Actor: "system", Detail: "expired"},
	}
	wantB := []persist.Event{{SessionID: b.ID, At: at, Kind: "created", Actor: "bob", Remote: "[2001:db8::1]:22"}}
	for i, e := range wantA {
		noErr(t, s.AppendEvent(ctx, e), "AppendEvent a")
		if i == 1 {
			noErr(t, s.AppendEvent(ctx, wantB[0]), "AppendEvent b")
		}
	}
	for _, c := range []struct {
		id   string
		want []persist.Event
	}{{a.ID, wantA}, {b.ID, wantB}} {
		got, err := s.Events(ctx, c.id)
		noErr(t, err, "Events")
		if len(got) != len(c.want) {
			t.Fatalf("Events(%s) = %d events, want %d: %+v", c.id, len(got), len(c.want), got)
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.SessionID != w.SessionID || g.Kind != w.Kind || g.Actor != w.Actor || g.Remote != w.Remote || g.Detail != w.Detail || !sameMS(g.At, w.At) {
				t.Errorf("Events(%s)[%d] = %+v, want %+v", c.id, i, g, w)
			}
		}
	}
}

func checkSession(t *testing.T, got, want persist.Session) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Name != want.Name || got.State != want.State ||
		got.Node != want.Node || got.EndReason != want.EndReason || got.Epoch != want.Epoch {
		t.Errorf("session = %+v\nwant %+v", got, want)
	}
	for _, tm := range []struct {
		field     string
		got, want time.Time
	}{
		{"created_at", got.CreatedAt, want.CreatedAt},
		{"last_input_at", got.LastInputAt, want.LastInputAt},
		{"ended_at", got.EndedAt, want.EndedAt},
		{"detached_at", got.DetachedAt, want.DetachedAt},
	} {
		if !sameMS(tm.got, tm.want) || tm.got.IsZero() != tm.want.IsZero() {
			t.Errorf("session %s %s = %v, want %v", want.ID, tm.field, tm.got, tm.want)
		}
	}
	checkApps(t, "session "+want.ID, got.Apps, want.Apps)
}

// checkApps compares app lists, treating nil and empty lists as equal.
func checkApps(t *testing.T, what string, got, want []persist.App) {
	t.Helper()
	eq := slices.EqualFunc(got, want, func(g, w persist.App) bool {
		return g.App == w.App && slices.Equal(g.Documents, w.Documents)
	})
	if !eq {
		t.Errorf("%s: apps = %+v, want %+v", what, got, want)
	}
}
