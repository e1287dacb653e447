package persisttest

import (
	"fmt"
	"slices"
	"testing"

	"termhost/persist"
)

// testQuarantine: unreadable generations are set aside (SPEC §5), fenced,
// never pruned by later puts, and their numbers are not reused.
func testQuarantine(t *testing.T, fresh opener) {
	t.Run("SetAsideSurvivesPuts", func(t *testing.T) { quarantineSurvives(t, fresh(t)) })
	t.Run("Refused", func(t *testing.T) { quarantineRefused(t, fresh) })
}

func quarantineSurvives(t *testing.T, s persist.Store) {
	ctx := t.Context()
	id, f := takenSession(t, s, "alice", "node-a")
	data := func(gen int64) []byte { return fmt.Appendf(nil, "gen %d", gen) }
	for g := int64(1); g <= 3; g++ {
		_, err := s.PutSnapshot(ctx, id, f, data(g))
		noErr(t, err, "PutSnapshot")
	}
	for _, g := range []int64{3, 2, 1} {
		noErr(t, s.QuarantineSnapshot(ctx, id, f, g, fmt.Sprintf("bad %d", g)), "QuarantineSnapshot")
	}
	snaps, err := s.Snapshots(ctx, id)
	noErr(t, err, "Snapshots")
	if len(snaps) != 0 {
		t.Fatalf("Snapshots after quarantining every generation = %d, want 0", len(snaps))
	}
	// Many later puts: the store keeps only a few generations, yet the
	// quarantined ones stay, and new numbers continue past them.
	for want := int64(4); want <= 4+2*keptGenerations; want++ {
		gen, err := s.PutSnapshot(ctx, id, f, data(want))
		noErr(t, err, "PutSnapshot after quarantine")
		if gen != want {
			t.Fatalf("PutSnapshot after quarantine = generation %d, want %d (numbers are never reused)", gen, want)
		}
	}
	q, err := s.Quarantined(ctx, id)
	noErr(t, err, "Quarantined")
	var gens []int64
	for _, x := range q {
		gens = append(gens, x.Gen)
		if x.SessionID != id || x.Epoch != f.Epoch || string(x.Data) != string(data(x.Gen)) ||
			x.Reason != fmt.Sprintf("bad %d", x.Gen) || x.At.IsZero() || x.WrittenAt.IsZero() {
			t.Errorf("quarantined gen %d = {%s epoch %d %q reason %q at %v written %v}, want {%s epoch %d %q reason %q, times set}",
				x.Gen, x.SessionID, x.Epoch, x.Data, x.Reason, x.At, x.WrittenAt, id, f.Epoch, data(x.Gen), fmt.Sprintf("bad %d", x.Gen))
		}
	}
	if want := []int64{3, 2, 1}; !slices.Equal(gens, want) {
		t.Fatalf("Quarantined generations = %v, want %v", gens, want)
	}
	other, _ := takenSession(t, s, "bob", "node-a")
	q, err = s.Quarantined(ctx, other)
	noErr(t, err, "Quarantined of another session")
	if len(q) != 0 {
		t.Fatalf("another session has %d quarantined generations, want 0", len(q))
	}
}

func quarantineRefused(t *testing.T, fresh opener) {
	tests := []struct {
		name string
		op   func(s persist.Store, id string, f persist.Fence) error
		want error
	}{
		{"stale fence", func(s persist.Store, id string, f persist.Fence) error {
			epoch, err := takeOver(t, s, id, "node-b")
			noErr(t, err, "takeOver by node-b")
			if epoch == f.Epoch {
				t.Fatalf("takeOver kept epoch %d", epoch)
			}
			return s.QuarantineSnapshot(t.Context(), id, f, 1, "x")
		}, persist.ErrLeaseLost},
		{"unknown generation", func(s persist.Store, id string, f persist.Fence) error {
			return s.QuarantineSnapshot(t.Context(), id, f, 7, "x")
		}, persist.ErrNotFound},
		{"unknown session", func(s persist.Store, id string, f persist.Fence) error {
			return s.QuarantineSnapshot(t.Context(), newID(), f, 1, "x")
		}, persist.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			id, f := takenSession(t, s, "alice", "node-a")
			_, err := s.PutSnapshot(t.Context(), id, f, []byte("kept"))
			noErr(t, err, "PutSnapshot")
			wantErr(t, tt.op(s, id, f), tt.want, "QuarantineSnapshot "+tt.name)
			snaps, err := s.Snapshots(t.Context(), id)
			noErr(t, err, "Snapshots")
			if len(snaps) != 1 || string(snaps[0].Data) != "kept" {
				t.Fatalf("after a refused quarantine Snapshots = %+v, want generation 1 still kept", snaps)
			}
			q, err := s.Quarantined(t.Context(), id)
			noErr(t, err, "Quarantined")
			if len(q) != 0 {
				t.Fatalf("a refused quarantine set %d generations aside", len(q))
			}
		})
	}
}
