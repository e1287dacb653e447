package metrics_test

import (
	"context"
	"testing"
	"time"

	"termhost/metrics"
	"termhost/persist"
)

// The cluster contract's answers (another node holds the lease, the old
// owner lost it, a cap refused the write) are not store failures; a
// closed store's failures are, per op.
func TestStoreDecoratorClusterAnswers(t *testing.T) {
	ctx := context.Background()
	raw := openStore(t)
	m := metrics.New()
	st := m.InstrumentStore(raw)
	url := serveOps(t, m, metrics.NewHealth(nil)) + "/metrics"
	a := persist.Owner{Node: "node-a", Boot: "1"}
	b := persist.Owner{Node: "node-b", Boot: "1"}
	rec := persist.Session{ID: "s1", Owner: "alice", Name: "1", State: persist.StateDetached, CreatedAt: time.Now(), LastInputAt: time.Now()}
	if err := st.CreateSession(ctx, rec, 1); err != nil {
		t.Fatal(err)
	}
	l, err := st.AcquireLease(ctx, "s1", a, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	answers := []struct {
		name string
		op   string
		call func() error
	}{
		{"lease held", "acquire_lease", func() error { _, err := st.AcquireLease(ctx, "s1", b, time.Hour); return err }},
		{"cap reached", "create_session", func() error {
			return st.CreateSession(ctx, persist.Session{ID: "s2", Owner: "alice", Name: "2", State: persist.StateDetached}, 1)
		}},
		{"lease lost", "release_lease", func() error { return st.ReleaseLease(ctx, "s1", persist.Fence{Epoch: l.Epoch + 1}) }},
	}
	for _, tt := range answers {
		if err := tt.call(); err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
	}
	mf := scrape(t, url)
	for _, tt := range answers {
		if v, ok := value(mf, "termhost_store_errors_total", "op="+tt.op); !ok || v != 0 {
			t.Errorf("%s: store errors{op=%s} = %v (exported %v), want 0", tt.name, tt.op, v, ok)
		}
	}

	raw.Close()
	failures := []struct {
		op   string
		call func() error
	}{
		{"acquire_lease", func() error { _, err := st.AcquireLease(ctx, "s1", a, time.Hour); return err }},
		{"renew_leases", func() error { _, err := st.RenewLeases(ctx, a, time.Hour); return err }},
		{"release_lease", func() error { return st.ReleaseLease(ctx, "s1", persist.Fence{Epoch: l.Epoch}) }},
	}
	for _, tt := range failures {
		if err := tt.call(); err == nil {
			t.Fatalf("%s on a closed store succeeded", tt.op)
		}
	}
	mf = scrape(t, url)
	for _, tt := range failures {
		if v, _ := value(mf, "termhost_store_errors_total", "op="+tt.op); v != 1 {
			t.Errorf("store errors{op=%s} = %v, want 1", tt.op, v)
		}
	}
}
