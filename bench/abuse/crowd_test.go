package abuse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"termhost/bench"
)

func TestToken(t *testing.T) {
	seen := map[string]bool{}
	for n := range 1000 {
		w, next := token(n), token(n+1)
		if seen[w] {
			t.Fatalf("token(%d) = %s repeats", n, w)
		}
		seen[w] = true
		for j := 1; j < len(w); j++ {
			if w[j] == next[j] {
				t.Fatalf("token(%d) = %s and token(%d) = %s share position %d", n, w, n+1, next, j)
			}
		}
	}
}

// TestCrowdFigures runs the crowd attacks against the build named by
// TERMHOST_ABUSE_BIN (SSH on 127.0.0.1, other settings as TERMHOST_* env)
// and logs the figures for BENCHMARKS.md ("Hostile load"); without it the
// test is skipped (the e2e abuse suite asserts on the tree's build).
//
//	TERMHOST_ABUSE_BIN=/tmp/termhost-before go test ./bench/abuse -run TestCrowdFigures -v
func TestCrowdFigures(t *testing.T) {
	bin := os.Getenv("TERMHOST_ABUSE_BIN")
	if bin == "" {
		t.Skip("TERMHOST_ABUSE_BIN is not set")
	}
	for _, attack := range strings.Split(envOr("TERMHOST_ABUSE_CROWD", "chat,typing"), ",") {
		t.Run(attack, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			dir := t.TempDir()
			srv, err := bench.StartServer(ctx, bench.ServerOptions{Bin: bin, DataDir: dir,
				Env: []string{"TERMHOST_CONN_RATE=0", "TERMHOST_METRICS_ADDR="}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			tg := Target{SSH: srv.Addr, PID: srv.PID}
			var all []Account
			mk := func(name string) Account {
				a, err := NewAccount(name, "")
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, a)
				return a
			}
			admin := exec.CommandContext(ctx, bin, "user", "add", "operator", "--admin", "--password-stdin", "--data-dir", dir)
			admin.Stdin = strings.NewReader("operator-password\n")
			if out, err := admin.CombinedOutput(); err != nil {
				t.Fatalf("user add --admin: %v\n%s", err, out)
			}
			tg.Legit = mk("legit")
			o := CrowdOptions{Source: AttackSource, Bystander: mk("bystander"), Dur: 10 * time.Second, Rate: 5, Bytes: 2 << 20}
			for i := range 20 {
				o.Crowd = append(o.Crowd, mk(fmt.Sprintf("crowd%d", i)))
			}
			if err := AddUsers(ctx, bin, dir, all...); err != nil {
				t.Fatal(err)
			}
			var r CrowdResult
			if attack == "chat" {
				r, err = ChatFlood(ctx, tg, o)
			} else {
				r, err = TypingFlood(ctx, tg, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s flood, 20 accounts, %s: crowd sent %d; bystander %d delays, median %s, max %s, %d missed; legit first frame %s; server CPU %s over %s, RSS %d → %d MiB",
				attack, o.Dur, r.Sent, len(r.Delays), r.Median().Round(100*time.Microsecond), r.Max().Round(100*time.Microsecond), r.Missed,
				r.Legit, r.Usage.CPU.Round(10*time.Millisecond), r.Usage.Wall.Round(time.Millisecond), r.Usage.BaseRSS>>20, r.Usage.PeakRSS>>20)
		})
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
