package metrics_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"termhost/metrics"
	"termhost/persist"
	"termhost/persist/sqlite"
)

// families parses a Prometheus text exposition.
func families(t testing.TB, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return mf
}

// scrape GETs url (a /metrics endpoint) and parses it.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return families(t, resp.Body)
}

// value returns the counter, gauge or histogram sample count of the series
// of family name whose labels include every pair of labels ("k=v").
func value(mf map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := mf[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for _, want := range labels {
			k, v, _ := strings.Cut(want, "=")
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// serveOps starts the operations listener for m and h on loopback.
func serveOps(t testing.TB, m *metrics.Metrics, h *metrics.Health) string {
	t.Helper()
	srv, err := metrics.Listen("127.0.0.1:0", metrics.Mux(m, h), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + srv.Addr().String()
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Labels take only values from bounded sets: anything a client could
// choose (an address, a name) is exported as "other".
func TestLabelsBounded(t *testing.T) {
	tests := []struct {
		name   string
		do     func(m *metrics.Metrics)
		family string
		labels []string
	}{
		{name: "ssh login", do: func(m *metrics.Metrics) { m.Login("ssh", true) },
			family: "termhost_logins_total", labels: []string{"transport=ssh", "result=success"}},
		{name: "telnet failure", do: func(m *metrics.Metrics) { m.Login("telnet", false) },
			family: "termhost_logins_total", labels: []string{"transport=telnet", "result=failure"}},
		{name: "unknown transport", do: func(m *metrics.Metrics) { m.Login("alice@10.0.0.1", true) },
			family: "termhost_logins_total", labels: []string{"transport=other", "result=success"}},
		{name: "refusal reason", do: func(m *metrics.Metrics) { m.Refused("source_cap") },
			family: "termhost_connections_refused_total", labels: []string{"reason=source_cap"}},
		{name: "address as a reason", do: func(m *metrics.Metrics) { m.Refused("10.0.0.1:4242") },
			family: "termhost_connections_refused_total", labels: []string{"reason=other"}},
		{name: "store op", do: func(m *metrics.Metrics) { m.StoreError("put_snapshot") },
			family: "termhost_store_errors_total", labels: []string{"op=put_snapshot"}},
		{name: "echo", do: func(m *metrics.Metrics) { m.FrameFlushed(time.Millisecond, false) },
			family: "termhost_key_echo_seconds"},
		{name: "first frame", do: func(m *metrics.Metrics) { m.FrameFlushed(2*time.Millisecond, true) },
			family: "termhost_first_frame_seconds"},
		{name: "lease renewal", do: func(m *metrics.Metrics) { m.LeaseRenewed(false) },
			family: "termhost_lease_renewals_total", labels: []string{"result=failure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			tt.do(m)
			url := serveOps(t, m, metrics.NewHealth(nil))
			if got, ok := value(scrape(t, url+"/metrics"), tt.family, tt.labels...); !ok || got != 1 {
				t.Errorf("%s%v = %v (present %v), want 1", tt.family, tt.labels, got, ok)
			}
		})
	}
}

// The Go runtime and process collectors are there, and so are the login
// series before any login (rate() needs a zero to start from).
func TestStandardCollectors(t *testing.T) {
	mf := scrape(t, serveOps(t, metrics.New(), metrics.NewHealth(nil))+"/metrics")
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "go_build_info"} {
		if mf[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if v, ok := value(mf, "termhost_logins_total", "transport=telnet", "result=failure"); !ok || v != 0 {
		t.Errorf("termhost_logins_total{telnet,failure} = %v (present %v), want 0", v, ok)
	}
}

// Every known label combination is exported at 0 on a fresh registry, so
// a dashboard or an alert sees the series before its first event: each
// refusal reason, each store operation the decorator counts (read from
// store.go's done calls, so a new method cannot be forgotten) and every
// transport's logins.
func TestSeriesPresentAtZero(t *testing.T) {
	src, err := os.ReadFile("store.go")
	if err != nil {
		t.Fatal(err)
	}
	type series struct {
		name   string
		family string
		labels []string
	}
	var tests []series
	for _, r := range []string{"rate", "unauth_cap", "source_cap", "proxy_header"} {
		tests = append(tests, series{name: "refused " + r, family: "termhost_connections_refused_total", labels: []string{"reason=" + r}})
	}
	ops := regexp.MustCompile(`s\.done\("([a-z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(ops) < 20 {
		t.Fatalf("found %d store ops in store.go, want the decorator's ~27", len(ops))
	}
	for _, op := range ops {
		tests = append(tests, series{name: "store errors " + op[1], family: "termhost_store_errors_total", labels: []string{"op=" + op[1]}})
	}
	for _, tr := range []string{"ssh", "telnet", "web"} {
		for _, r := range []string{"success", "failure"} {
			tests = append(tests, series{name: "logins " + tr + " " + r, family: "termhost_logins_total", labels: []string{"transport=" + tr, "result=" + r}})
		}
	}
	mf := scrape(t, serveOps(t, metrics.New(), metrics.NewHealth(nil))+"/metrics")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, ok := value(mf, tt.family, tt.labels...); !ok || v != 0 {
				t.Errorf("%s%v = %v (present %v), want present at 0", tt.family, tt.labels, v, ok)
			}
		})
	}
}

// The store decorator times and sizes snapshot writes, counts stored chat
// messages and failed calls, and does not count answers (not found).
func TestStoreDecorator(t *testing.T) {
	ctx := context.Background()
	raw := openStore(t)
	m := metrics.New()
	st := m.InstrumentStore(raw)
	url := serveOps(t, m, metrics.NewHealth(nil)) + "/metrics"

	if _, err := st.GetUser(ctx, "nobody"); err == nil {
		t.Fatal("GetUser of an unknown name succeeded")
	}
	rec := persist.Session{ID: "s1", Owner: "alice", Name: "1", State: persist.StateDetached, Node: "n1", Epoch: 1,
		CreatedAt: time.Now(), LastInputAt: time.Now()}
	if err := st.CreateSession(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	frame := persist.Seal([]byte(strings.Repeat("x", 1000)))
	if _, err := st.PutSnapshot(ctx, "s1", persist.Fence{Node: "n1", Epoch: 1}, frame); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PostChat(ctx, persist.ChatMessage{Room: "#lobby", User: "alice", Text: "hi", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mf := scrape(t, url)
	if v, _ := value(mf, "termhost_store_errors_total", "op=get_user"); v != 0 {
		t.Errorf("not found counted as a store error: %v", v)
	}
	if v, _ := value(mf, "termhost_snapshot_write_seconds"); v != 1 {
		t.Errorf("snapshot writes timed = %v, want 1", v)
	}
	if h := mf["termhost_snapshot_bytes"].GetMetric()[0].GetHistogram(); h.GetSampleSum() != float64(len(frame)) {
		t.Errorf("snapshot bytes sum = %v, want %d", h.GetSampleSum(), len(frame))
	}
	if v, _ := value(mf, "termhost_chat_messages_total"); v != 1 {
		t.Errorf("chat messages = %v, want 1", v)
	}

	raw.Close() // the store becomes unreachable
	if _, err := st.GetUser(ctx, "alice"); err == nil {
		t.Fatal("GetUser on a closed store succeeded")
	}
	if _, err := st.PutSnapshot(ctx, "s1", persist.Fence{Node: "n1", Epoch: 1}, frame); err == nil {
		t.Fatal("PutSnapshot on a closed store succeeded")
	}
	mf = scrape(t, url)
	for _, op := range []string{"get_user", "put_snapshot"} {
		if v, _ := value(mf, "termhost_store_errors_total", "op="+op); v != 1 {
			t.Errorf("store errors{op=%s} = %v, want 1", op, v)
		}
	}
	if v, _ := value(mf, "termhost_snapshot_write_seconds"); v != 2 {
		t.Errorf("snapshot writes timed = %v, want 2 (failures too)", v)
	}
}

// /readyz answers 503 while the store is unreachable, a listener is down
// or the node drains; /healthz answers 200 throughout.
func TestReadyz(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(h *metrics.Health, st *sqlite.Store)
		want     int
		wantBody string
	}{
		{name: "ready", setup: func(h *metrics.Health, st *sqlite.Store) { h.Up("ssh") }, want: 200, wantBody: "ready"},
		{name: "listener not started", setup: func(h *metrics.Health, st *sqlite.Store) { h.Down("ssh", nil) }, want: 503, wantBody: "listener"},
		{name: "listener failed", setup: func(h *metrics.Health, st *sqlite.Store) {
			h.Up("ssh")
			h.Down("telnet", io.ErrUnexpectedEOF)
		}, want: 503, wantBody: "telnet"},
		{name: "store unreachable", setup: func(h *metrics.Health, st *sqlite.Store) { h.Up("ssh"); st.Close() }, want: 503, wantBody: "store"},
		{name: "draining", setup: func(h *metrics.Health, st *sqlite.Store) { h.Up("ssh"); h.Drain() }, want: 503, wantBody: "draining"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			h := metrics.NewHealth(metrics.PingFunc(func(ctx context.Context) error { return st.DB().PingContext(ctx) }))
			url := serveOps(t, metrics.New(), h)
			tt.setup(h, st)
			code, body := get(t, url+"/readyz")
			if code != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Errorf("/readyz = %d %q, want %d containing %q", code, body, tt.want, tt.wantBody)
			}
			if code, _ := get(t, url+"/healthz"); code != 200 {
				t.Errorf("/healthz = %d, want 200", code)
			}
		})
	}
}

// A store that comes back makes the node ready again: readiness is asked
// at every check, not latched.
func TestReadyzRecovers(t *testing.T) {
	var down bool
	h := metrics.NewHealth(metrics.PingFunc(func(context.Context) error {
		if down {
			return io.ErrClosedPipe
		}
		return nil
	}))
	url := serveOps(t, metrics.New(), h)
	for _, step := range []struct {
		down bool
		want int
	}{{false, 200}, {true, 503}, {false, 200}} {
		down = step.down
		if code, body := get(t, url+"/readyz"); code != step.want {
			t.Errorf("store down=%v: /readyz = %d %q, want %d", step.down, code, body, step.want)
		}
	}
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
