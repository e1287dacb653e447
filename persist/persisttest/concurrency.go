package persisttest

import (
	"fmt"
	"sync"
	"testing"

	"termhost/persist"
)

// testConcurrency has several goroutines write to their own sessions at
// once, as a node's sessions do; run it under -race.
func testConcurrency(t *testing.T, fresh opener) {
	const workers, writes = 8, 50
	s := fresh(t)
	ids := make([]string, workers)
	fences := make([]persist.Fence, workers)
	for w := range workers {
		ids[w], fences[w] = takenSession(t, s, fmt.Sprintf("user%d", w), "node-a")
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range writes {
				data := fmt.Appendf(nil, "worker %d write %d", w, i)
				if _, err := s.PutSnapshot(t.Context(), ids[w], fences[w], data); err != nil {
					t.Errorf("worker %d PutSnapshot %d: %v", w, i, err)
					return
				}
				e := persist.Event{SessionID: ids[w], At: t0, Kind: "message", Actor: "system", Detail: fmt.Sprint(i)}
				if err := s.AppendEvent(t.Context(), e); err != nil {
					t.Errorf("worker %d AppendEvent %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for w, id := range ids {
		snaps, err := s.Snapshots(t.Context(), id)
		noErr(t, err, "Snapshots")
		want := fmt.Sprintf("worker %d write %d", w, writes-1)
		if len(snaps) != keptGenerations || snaps[0].Gen != writes || string(snaps[0].Data) != want {
			t.Errorf("worker %d: %d snapshots, newest gen %d %q; want %d, gen %d %q",
				w, len(snaps), snaps[0].Gen, snaps[0].Data, keptGenerations, writes, want)
		}
		events, err := s.Events(t.Context(), id)
		noErr(t, err, "Events")
		if len(events) != writes {
			t.Fatalf("worker %d: %d events, want %d", w, len(events), writes)
		}
		for i, e := range events {
			if e.Detail != fmt.Sprint(i) {
				t.Fatalf("worker %d: event %d has detail %q, want %q (out of order)", w, i, e.Detail, fmt.Sprint(i))
			}
		}
	}
}
