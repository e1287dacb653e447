package persisttest

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"termhost/persist"
)

// BenchRenewLeases measures one node's background renewal (SPEC §6: one
// statement renews all of a node's leases) with n sessions held by that
// node and n more held by another, on st (an empty store the caller
// closes). One op is one RenewLeases call; it reports sessions/op.
// Backends call it from their own Benchmark functions, e.g. with n =
// 10,000 (issue 10).
func BenchRenewLeases(b *testing.B, st persist.Store, n int) {
	ctx := b.Context()
	mine := persist.Owner{Node: "node-a", Boot: "bench"}
	other := persist.Owner{Node: "node-b", Boot: "bench"}
	for i := range 2 * n {
		r := persist.Session{ID: newID(), Owner: fmt.Sprint("user", i%100), Name: fmt.Sprint("s", i),
			State: persist.StateAttached, CreatedAt: t0, LastInputAt: t0}
		if err := st.CreateSession(ctx, r, 0); err != nil {
			b.Fatalf("CreateSession %d: %v", i, err)
		}
		o := mine
		if i%2 == 1 {
			o = other
		}
		if _, err := st.AcquireLease(ctx, r.ID, o, time.Hour); err != nil {
			b.Fatalf("AcquireLease %d: %v", i, err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		ls, err := st.RenewLeases(ctx, mine, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if len(ls) != n {
			b.Fatalf("RenewLeases = %d leases, want %d", len(ls), n)
		}
	}
	b.ReportMetric(float64(n), "sessions/op")
}

// BenchPutSnapshot measures fenced 4 KiB snapshot writes on st (an empty
// store the caller closes) from sessions sessions at once, as a node's
// sessions write (issue 10: snapshot writes per second, PostgreSQL vs
// SQLite). It reports writes/s.
func BenchPutSnapshot(b *testing.B, st persist.Store, sessions int) {
	ctx := b.Context()
	o := persist.Owner{Node: "node-a", Boot: "bench"}
	ids := make([]string, sessions)
	fences := make([]persist.Fence, sessions)
	for i := range sessions {
		ids[i] = fmt.Sprintf("snapbench%018d", i)
		r := persist.Session{ID: ids[i], Owner: "alice", Name: ids[i], State: persist.StateAttached}
		if err := st.CreateSession(ctx, r, 0); err != nil {
			b.Fatal(err)
		}
		l, err := st.AcquireLease(ctx, ids[i], o, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		fences[i] = persist.Fence{Node: o.Node, Epoch: l.Epoch}
	}
	data := make([]byte, 4096)
	var next atomic.Int64
	b.SetParallelism(max(1, sessions/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % sessions
		for pb.Next() {
			if _, err := st.PutSnapshot(ctx, ids[i], fences[i], data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
