// Package metrics is a node's operations surface (SPEC §11): the Prometheus
// collectors that count what the node does, the store decorator that times
// and counts store calls, the readiness state, and the HTTP listener that
// serves /metrics, /healthz and /readyz.
//
// One *Metrics is made at start and handed to the parts that report to it;
// each of them declares the few methods it calls as its own small interface
// (sessions.Observer, sshd.Observer, telnetd.Observer), so none of them
// imports this package. Nothing here is global: the collectors live in the
// Metrics' own registry, not in client_golang's default one.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"termhost/sessions"
)

// Label values of bounded sets. A value outside its set is exported as
// "other", so no caller can create a series per user, address or session.
var (
	transports = []string{"ssh", "telnet", "web"}
	results    = []string{"success", "failure"}
	states     = []string{"attached", "detached"}
	// refuseReasons are the admission gate's refusal reasons (SPEC §11;
	// admission.Gate and admission.Trust report them).
	refuseReasons = []string{"rate", "unauth_cap", "source_cap", "proxy_header"}
)

// StatsSource is the session manager as the collectors read it at every
// scrape; `termhost sessions stats` reads the same method (one source of
// truth for both).
type StatsSource interface {
	Stats() sessions.Stats
}

// Metrics holds every termhost collector and the registry that exports them.
// Its methods are safe for concurrent use and cost a few atomic operations.
type Metrics struct {
	reg *prometheus.Registry

	logins     *prometheus.CounterVec
	refused    *prometheus.CounterVec
	firstFrame prometheus.Histogram
	echo       prometheus.Histogram
	snapSecs   prometheus.Histogram
	snapBytes  prometheus.Histogram
	storeErrs  *prometheus.CounterVec
	chat       prometheus.Counter
	leaseRenew *prometheus.CounterVec
	leaseLost  prometheus.Counter
	handoffs   prometheus.Counter
}

// New registers termhost's collectors and the Go runtime, process and
// build-info collectors in a registry of its own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termhost_logins_total",
		Help: "Login attempts that reached a credential check, by transport and result (success|failure).",
	}, []string{"transport", "result"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termhost_connections_refused_total",
		Help: "Connections refused before login by the node's admission gate, by reason (rate, unauth_cap, source_cap, proxy_header).",
	}, []string{"reason"})
	m.firstFrame = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "termhost_first_frame_seconds",
		Help:    "From an authenticated connection reaching the session layer to its first frame written to the transport.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15), // 0.5 ms … 8 s
	})
	m.echo = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "termhost_key_echo_seconds",
		Help:    "From reading a client's input to writing the frame it caused to that client's transport.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 0.1 ms … 3.3 s
	})
	m.snapSecs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "termhost_snapshot_write_seconds",
		Help:    "Time of one workspace snapshot write to the store, failed writes included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms … 4 s
	})
	m.snapBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "termhost_snapshot_bytes",
		Help:    "Size of each sealed workspace snapshot written to the store.",
		Buckets: prometheus.ExponentialBuckets(256, 4, 9), // 256 B … 16 MiB
	})
	m.storeErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termhost_store_errors_total",
		Help: "Store calls that failed, by operation; answers such as not found or conflict are not errors.",
	}, []string{"op"})
	m.chat = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "termhost_chat_messages_total",
		Help: "Chat messages stored by this node.",
	})
	m.leaseRenew = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termhost_lease_renewals_total",
		Help: "Batched session lease renewals (cluster mode), by result (success|failure).",
	}, []string{"result"})
	m.leaseLost = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "termhost_lease_losses_total",
		Help: "Live sessions stopped because their lease was lost or taken (cluster mode).",
	})
	m.handoffs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "termhost_handoffs_total",
		Help: "Sessions handed to or taken from another node (cluster mode).",
	})
	m.reg.MustRegister(m.logins, m.refused, m.firstFrame, m.echo, m.snapSecs, m.snapBytes,
		m.storeErrs, m.chat, m.leaseRenew, m.leaseLost, m.handoffs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	// Series that exist from the start read 0 rather than absent, so a
	// dashboard's rate() works before the first event.
	// Every known label combination is made here, so that no series
	// appears only at its first event.
	for _, t := range transports {
		for _, r := range results {
			m.logins.WithLabelValues(t, r)
		}
	}
	for _, r := range results {
		m.leaseRenew.WithLabelValues(r)
	}
	for _, r := range refuseReasons {
		m.refused.WithLabelValues(r)
	}
	for _, op := range storeOps {
		m.storeErrs.WithLabelValues(op)
	}
	return m
}

// AddLive registers the gauges read from src at every scrape: sessions by
// state and clients by transport. Call it once, when the session manager
// exists (it is made after the store this Metrics measures).
func (m *Metrics) AddLive(src StatsSource) { m.reg.MustRegister(newLive(src)) }

// Registry is the registry the collectors live in (for tests and for
// adding a collector at wiring time).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Login counts one login: a password attempt (accepted or not) or an
// accepted public key; transport is ssh|telnet|web.
func (m *Metrics) Login(transport string, ok bool) {
	r := "failure"
	if ok {
		r = "success"
	}
	m.logins.WithLabelValues(oneOf(transport, transports), r).Inc()
}

// Refused counts a connection refused before login. reason must be a
// constant of the caller's code ("rate", "unauth_cap", …), never input.
func (m *Metrics) Refused(reason string) {
	m.refused.WithLabelValues(token(reason)).Inc()
}

// FrameFlushed records a frame written to a client's transport: d is the
// time since the client's first byte reached the session layer (first) or
// since the input that caused it was read.
func (m *Metrics) FrameFlushed(d time.Duration, first bool) {
	if first {
		m.firstFrame.Observe(d.Seconds())
		return
	}
	m.echo.Observe(d.Seconds())
}

// SnapshotWritten records one snapshot write of n bytes that took d.
func (m *Metrics) SnapshotWritten(d time.Duration, n int, err error) {
	m.snapSecs.Observe(d.Seconds())
	if err == nil {
		m.snapBytes.Observe(float64(n))
	}
}

// StoreError counts a failed store call; op is the store method's name.
func (m *Metrics) StoreError(op string) { m.storeErrs.WithLabelValues(token(op)).Inc() }

// ChatPosted counts a chat message stored.
func (m *Metrics) ChatPosted() { m.chat.Inc() }

// LeaseRenewed counts one batched lease renewal (cluster mode).
func (m *Metrics) LeaseRenewed(ok bool) {
	r := "failure"
	if ok {
		r = "success"
	}
	m.leaseRenew.WithLabelValues(r).Inc()
}

// LeaseLost counts a live session stopped by losing its lease.
func (m *Metrics) LeaseLost() { m.leaseLost.Inc() }

// HandedOff counts a session handed to or taken from another node.
func (m *Metrics) HandedOff() { m.handoffs.Inc() }

// oneOf returns v if it is in set, else "other".
func oneOf(v string, set []string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return "other"
}

// token keeps a label value that is a short lower-case identifier and
// replaces anything else with "other": a defence against a caller passing
// input (an address, a name) where a constant belongs.
func token(v string) string {
	if v == "" || len(v) > 32 {
		return "other"
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return "other"
		}
	}
	return v
}
