package sessions_test

import (
	"context"
	"testing"
	"time"

	"termhost/persist"
)

// The sweep of hibernated sessions covers the whole store, as its name
// says: a hibernated session has no owner, so one recorded by another
// node expires here too; one not yet due is left alone.
func TestSweepHibernatedWholeStore(t *testing.T) {
	tests := []struct {
		name    string
		node    string
		idle    time.Duration // since the session was detached
		wantEnd bool
	}{
		{"this node's, due", "n1", 2 * time.Hour, true},
		{"another node's, due", "n2", 2 * time.Hour, true},
		{"another node's, not due", "n2", 30 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.DetachedTTL = time.Hour
			e := newEnv(t, p)
			now := e.clock.Now()
			rec := persist.Session{ID: "sweepsession00000000000000", Owner: "alice", Name: "1", State: persist.StateHibernated,
				Node: tt.node, CreatedAt: now.Add(-3 * time.Hour), LastInputAt: now.Add(-tt.idle), DetachedAt: now.Add(-tt.idle), Epoch: 1}
			if err := e.store.CreateSession(context.Background(), rec, 0); err != nil {
				t.Fatal(err)
			}
			e.mgr.Sweep(context.Background())
			got := e.record(rec.ID)
			if ended := got.State == persist.StateEnded; ended != tt.wantEnd || (ended && got.EndReason != "expired") {
				t.Errorf("after a sweep: state %s reason %q, want ended=%v (expired)", got.State, got.EndReason, tt.wantEnd)
			}
		})
	}
}
