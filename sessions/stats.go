package sessions

import (
	"runtime/metrics"
)

// Stats is what a node holds right now, for operators and the load tool.
type Stats struct {
	Live       int    `json:"live_sessions"`
	Attached   int    `json:"attached_sessions"`
	Clients    int    `json:"clients"`
	HeapBytes  uint64 `json:"heap_live_bytes"`
	TotalBytes uint64 `json:"runtime_total_bytes"`
	Goroutines uint64 `json:"goroutines"`

	// ClientsByTransport splits Clients by transport ("ssh", "telnet", …).
	ClientsByTransport map[string]int `json:"clients_by_transport"`
}

// Stats counts live sessions and clients and reads the runtime's memory.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	live := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	st := Stats{Live: len(live), ClientsByTransport: map[string]int{}}
	for _, s := range live {
		s.mu.Lock()
		if n := len(s.clients); n > 0 {
			st.Attached++
			st.Clients += n
		}
		for _, c := range s.clients {
			st.ClientsByTransport[c.info.Transport]++
		}
		s.mu.Unlock()
	}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	metrics.Read(samples)
	st.HeapBytes = samples[0].Value.Uint64()
	st.TotalBytes = samples[1].Value.Uint64()
	st.Goroutines = samples[2].Value.Uint64()
	return st
}
