package persisttest

import (
	"fmt"
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
