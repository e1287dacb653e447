package abuse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"termhost/bench"
)

// TestMeasureSSHConns prints the figures of BENCHMARKS.md's rows on
// logged-in connections without a session, env requests and channels
// (issue 8) for the build TERMHOST_ABUSE_BIN names (any build, before or
// after the bounds; settings go in as TERMHOST_* env, which an older build
// ignores). It asserts nothing: the abuse suite (e2e) does.
//
//	TERMHOST_ABUSE_BIN=/tmp/termhost-before go test -run TestMeasureSSHConns -v -timeout 10m ./bench/abuse/
func TestMeasureSSHConns(t *testing.T) {
	bin := os.Getenv("TERMHOST_ABUSE_BIN")
	if bin == "" {
		t.Skip("set TERMHOST_ABUSE_BIN to a termhost binary to measure it")
	}
	start := func(t *testing.T, env ...string) Target {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dir := t.TempDir()
		srv, err := bench.StartServer(ctx, bench.ServerOptions{Bin: bin, DataDir: filepath.Join(dir, "data"),
			Args: []string{"--metrics-addr", ""}, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Stop() })
		legit, err := NewAccount("legit", "")
		if err != nil {
			t.Fatal(err)
		}
		mallory, err := NewAccount("mallory", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := AddUsers(ctx, bin, filepath.Join(dir, "data"), legit, mallory); err != nil {
			t.Fatal(err)
		}
		return Target{SSH: srv.Addr, PID: srv.PID, Legit: legit, Attackers: []Account{mallory}}
	}
	usage := func(o Outcome) string {
		return fmt.Sprintf("RSS %d → %d MiB, CPU %s over %s; legit %s", o.Usage.BaseRSS>>20, o.Usage.PeakRSS>>20,
			o.Usage.CPU.Round(time.Millisecond), o.Usage.Wall.Round(time.Millisecond), o.Legit)
	}
	t.Run("sessionless", func(t *testing.T) {
		// The default conn_rate (10/s, burst 40) paces each source; 40
		// sources at 8 + 9/s (under the unauthenticated cap of 8 per source) is the trial's 13,020-connection
		// flood scaled to 4,000.
		tg := start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := Sessionless(ctx, tg, SessionlessOptions{Sources: SpreadSources(40), PerSource: 100, Burst: 8, Rate: 9,
			Signer: tg.Attackers[0].Signer, Name: func(s, i int) string { return fmt.Sprintf("m%d-%d", s, i) },
			Channel: true, Hold: 35 * time.Second})
		if err != nil {
			t.Error(err)
		}
		t.Logf("sessionless: %d logged in (%d failed), %d channels refused (%q), peak %d open, server peak %d fds; %d closed by the server (longest %s), %d still open after %s; %s",
			r.Opened, r.Failed, r.Refused, r.Reason, r.PeakOpen, r.PeakFDs, r.Closed, r.MaxLife.Round(time.Millisecond), r.Open, 35*time.Second, usage(r.Outcome))
	})
	t.Run("env", func(t *testing.T) {
		tg := start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := EnvFlood(ctx, tg, EnvOptions{Source: AttackSource, User: "mallory", Signer: tg.Attackers[0].Signer, Requests: 10_000, Size: 32 << 10})
		if err != nil {
			t.Error(err)
		}
		t.Logf("env: 10,000 × 32 KiB: %d accepted, %d refused in %s; %s", r.Accepted, r.Refused, r.Took.Round(time.Millisecond), usage(r.Outcome))
	})
	t.Run("channels", func(t *testing.T) {
		tg := start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r, err := ChannelFlood(ctx, tg, ChannelOptions{Source: AttackSource, User: "mallory", Signer: tg.Attackers[0].Signer, Channels: 50_000})
		if err != nil {
			t.Error(err)
		}
		t.Logf("channels: 50,000: %d opened, %d refused (%q) in %s; %s", r.Opened, r.Refused, r.Reason, r.Took.Round(time.Millisecond), usage(r.Outcome))
	})
}
