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
