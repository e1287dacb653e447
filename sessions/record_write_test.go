package sessions_test

import (
	"context"
	"testing"
	"time"
)

// While a user types, each debounced snapshot is written, but the session
// record (a second store write) only when what listings show changed or
// last_input_at moved on by a second; so the stored last_input_at lags the
// live one by at most a second plus one FlushDelay.
func TestSnapshotWritesRecordOnlyWhenItChanged(t *testing.T) {
	e := newEnv(t, testPolicy())
	st := &flakyStore{Store: e.store}
	m := e.managerOn(st)
	c := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
	c.waitFor(" alice · ")
	e.settle(m, "10.0.0.1:1001")
	e.clock.Advance(e.policy.FlushDelay) // the new session's first snapshot
	infos, _ := m.List(context.Background(), alice.Name, "")
	id := infos[0].ID
	waitFor(t, "the first snapshot", func() bool { return len(e.snapshots(id)) == 1 })

	const keys = 20 // 2 s of typing at one key per FlushDelay (100 ms)
	before := st.counted(&st.updates)
	for i := range keys {
		c.send("x")
		c.scr.WaitUntil(t, "key applied", wait, func(string) bool { x, _ := c.scr.Cursor(); return x == i+1 })
		e.clock.Advance(e.policy.FlushDelay)
		waitFor(t, "the snapshot of the key", func() bool { return len(e.snapshots(id)) >= min(i+2, 3) })
		live := e.clock.Now().Add(-e.policy.FlushDelay) // the key's input time
		stored := e.record(id).LastInputAt
		if lag := live.Sub(stored); lag > time.Second+e.policy.FlushDelay {
			t.Fatalf("key %d: stored last_input_at lags %v, want at most 1s + FlushDelay", i, lag)
		}
	}
	writes := st.counted(&st.updates) - before
	if writes == 0 || writes > keys/5 {
		t.Errorf("%d record writes for %d snapshot writes of typing over 2 s, want 1..%d (about one a second)", writes, keys, keys/5)
	}

	// A change that listings show (a second tab: the apps summary) is
	// written with the next snapshot, whatever the time.
	before = st.counted(&st.updates)
	c.send("\x02c")
	c.waitFor("Documents")
	c.send("2")
	waitFor(t, "a second tab", func() bool {
		in, _ := m.List(context.Background(), alice.Name, "")
		return len(in) == 1 && len(in[0].Apps) == 2
	})
	e.clock.Advance(e.policy.FlushDelay)
	waitFor(t, "the record with two apps", func() bool { return len(e.record(id).Apps) == 2 })
	if st.counted(&st.updates) == before {
		t.Errorf("the apps change wrote no record")
	}
}
