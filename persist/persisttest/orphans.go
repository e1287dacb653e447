package persisttest

import (
	"testing"

	"termhost/persist"
)

// testOrphanEvents: history is only written for a session that exists.
// The attack trial found events appended after `user del` by a racing
// reconnect: rows for a session that no longer exists (issue 8).
func testOrphanEvents(t *testing.T, fresh opener) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s persist.Store) string // returns the session id to append to
	}{
		{"never created", func(t *testing.T, s persist.Store) string { return "no-such-session" }},
		{"owner deleted", func(t *testing.T, s persist.Store) string {
			o := give(t, s, "mallory", true)
			noErr(t, s.DeleteUser(t.Context(), "mallory"), "DeleteUser")
			return o.session
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			id := tc.setup(t, s)
			err := s.AppendEvent(t.Context(), persist.Event{SessionID: id, At: t0, Kind: "attached", Actor: "mallory"})
			wantErr(t, err, persist.ErrNotFound, "AppendEvent to a session that does not exist")
			events, err := s.Events(t.Context(), id)
			noErr(t, err, "Events")
			if len(events) != 0 {
				t.Errorf("Events(%s) = %v, want none", id, events)
			}
		})
	}
	t.Run("an existing session takes events", func(t *testing.T) {
		s := fresh(t)
		id, _ := takenSession(t, s, "alice", "node-a")
		noErr(t, s.AppendEvent(t.Context(), persist.Event{SessionID: id, At: t0, Kind: "created", Actor: "alice"}), "AppendEvent")
		events, err := s.Events(t.Context(), id)
		noErr(t, err, "Events")
		if len(events) != 1 {
			t.Errorf("Events = %d, want 1", len(events))
		}
	})
}
