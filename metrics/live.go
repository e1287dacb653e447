package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// live exports what the node holds right now, asked of the session manager
// at scrape time rather than kept in parallel gauges that could drift.
type live struct {
	src      StatsSource
	sessions *prometheus.Desc
	clients  *prometheus.Desc
}

func newLive(src StatsSource) *live {
	return &live{
		src: src,
		sessions: prometheus.NewDesc("termhost_sessions",
			"Live sessions on this node by state (attached|detached); hibernated sessions are in the store, not on a node.",
			[]string{"state"}, nil),
		clients: prometheus.NewDesc("termhost_clients",
			"Clients attached to this node's sessions, by transport.",
			[]string{"transport"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (l *live) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.sessions
	ch <- l.clients
}

// Collect implements prometheus.Collector.
func (l *live) Collect(ch chan<- prometheus.Metric) {
	st := l.src.Stats()
	ch <- prometheus.MustNewConstMetric(l.sessions, prometheus.GaugeValue, float64(st.Attached), states[0])
	ch <- prometheus.MustNewConstMetric(l.sessions, prometheus.GaugeValue, float64(st.Live-st.Attached), states[1])
	byTransport := map[string]int{}
	for _, t := range transports {
		byTransport[t] = 0
	}
	for t, n := range st.ClientsByTransport {
		byTransport[oneOf(t, transports)] += n
	}
	for t, n := range byTransport {
		ch <- prometheus.MustNewConstMetric(l.clients, prometheus.GaugeValue, float64(n), t)
	}
}
