package admission_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"termhost/admission"
	"termhost/metrics"
)

// logBuf is a log sink safe for the gate's timer goroutines; lines parses
// its JSON records.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, rec)
	}
	return out
}

func (b *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if addr, ok := a.Value.Any().(net.Addr); ok && addr != nil {
			return slog.String(a.Key, addr.String())
		}
		return a
	}}))
}

// refused reads termhost_connections_refused_total{reason} from m.
func refused(t *testing.T, m *metrics.Metrics, reason string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "termhost_connections_refused_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label(s, "reason") == reason {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func label(s *dto.Metric, name string) string {
	for _, l := range s.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// A PROXY header from an untrusted peer is counted as a proxy_header
// refusal, like a trusted peer's missing one, and its log line names the
// transport whose listener refused it.
func TestUntrustedHeaderCounted(t *testing.T) {
	var logs logBuf
	m := metrics.New()
	trust, err := admission.ParseTrust([]string{"192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	trust.HeaderTimeout, trust.Log, trust.Metrics = wait, logs.logger(), m
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := trust.Listen("telnet", raw)
	t.Cleanup(func() { ln.Close() })
	c, err := net.DialTimeout("tcp", ln.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := header(2).WriteTo(c); err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetDeadline(time.Now().Add(wait))
	if _, err := srv.Read(make([]byte, 16)); err == nil {
		t.Fatal("Read after a forged header succeeded")
	}
	if got := refused(t, m, "proxy_header"); got != 1 {
		t.Errorf("refused{proxy_header} = %v, want 1", got)
	}
	recs := logs.lines(t)
	if len(recs) != 1 || recs[0]["transport"] != "telnet" || recs[0]["remote"] == nil || recs[0]["level"] != "WARN" {
		t.Errorf("log = %v, want one WARN line with transport=telnet and remote", recs)
	}
}

// Refusal lines are rate-limited per reason: within a second only the first
// is written, the next one after it says how many were held back; another
// reason has its own budget. The metrics count every refusal.
func TestRefusalLogRateLimited(t *testing.T) {
	ln, conns := listen(t)
	var logs logBuf
	m := metrics.New()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	g := admission.New(admission.Config{MaxUnauth: 1, Log: logs.logger(), Clock: clock, Metrics: m})
	_, first := dialFrom(t, ln, conns, "127.0.0.2")
	tk, err := g.Admit("ssh", first, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Release()
	_, srv := dialFrom(t, ln, conns, "127.0.0.3")

	tests := []struct {
		name      string
		advance   time.Duration
		attempts  int
		wantLines int     // lines written by this step
		wantSupp  float64 // "suppressed" on the step's line (0: absent)
	}{
		{name: "first refusal is logged", attempts: 1, wantLines: 1},
		{name: "a burst within the second is held back", advance: 100 * time.Millisecond, attempts: 50, wantLines: 0},
		{name: "after a second one line says how many were held back", advance: time.Second, attempts: 3, wantLines: 1, wantSupp: 50},
	}
	seen := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.advance(tt.advance)
			for range tt.attempts {
				if _, err := g.Admit("ssh", srv, nil); err == nil {
					t.Fatal("Admit over the cap succeeded")
				}
			}
			recs := logs.lines(t)
			got := recs[seen:]
			seen = len(recs)
			if len(got) != tt.wantLines {
				t.Fatalf("%d new log lines, want %d: %v", len(got), tt.wantLines, got)
			}
			for _, r := range got {
				if r["transport"] != "ssh" || r["reason"] != "unauth_cap" || r["remote"] == nil {
					t.Errorf("line %v lacks transport=ssh, reason=unauth_cap or remote", r)
				}
				supp, _ := r["suppressed"].(float64)
				if supp != tt.wantSupp {
					t.Errorf("suppressed = %v, want %v", supp, tt.wantSupp)
				}
			}
		})
	}
	if got := refused(t, m, "unauth_cap"); got != 54 {
		t.Errorf("refused{unauth_cap} = %v, want every refusal (54) counted", got)
	}
}

// A login grace that runs out writes one INFO line naming transport and
// remote address.
func TestGraceExpiryLogged(t *testing.T) {
	ln, conns := listen(t)
	var logs logBuf
	g := admission.New(admission.Config{Grace: 30 * time.Millisecond, Log: logs.logger()})
	_, srv := dialFrom(t, ln, conns, "127.0.0.2")
	expired := make(chan struct{})
	if _, err := g.Admit("telnet", srv, func() { close(expired) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-expired:
	case <-time.After(wait):
		t.Fatal("grace never expired")
	}
	recs := logs.lines(t)
	if len(recs) != 1 || recs[0]["level"] != "INFO" || recs[0]["transport"] != "telnet" ||
		!strings.HasPrefix(recs[0]["remote"].(string), "127.0.0.2:") {
		t.Errorf("log = %v, want one INFO line with transport=telnet, remote=127.0.0.2:…", recs)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
