package memory_test

import (
	"testing"

	"termhost/persist"
	"termhost/persist/memory"
	"termhost/persist/persisttest"
)

// TestConformance runs the store suite; Reopen is a second handle on the
// same in-memory data, as a second node on one database.
func TestConformance(t *testing.T) {
	persisttest.Run(t, persisttest.Backend{
		Open: func(t *testing.T) persist.Store { return memory.New(nil) },
		Reopen: func(t *testing.T, first persist.Store) persist.Store {
			return first.(*memory.Store).Handle()
		},
	})
}

// BenchmarkRenewLeases: one node's renewal of 10,000 leases (issue 10's
// size), beside 10,000 of another node's.
func BenchmarkRenewLeases(b *testing.B) {
	st := memory.New(nil)
	defer st.Close()
	persisttest.BenchRenewLeases(b, st, 10_000)
}
