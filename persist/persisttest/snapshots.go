package persisttest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"termhost/persist"
)

// keptGenerations is how many snapshot generations the contract keeps.
const keptGenerations = 3

func testSnapshots(t *testing.T, fresh opener) {
	t.Run("Generations", func(t *testing.T) { snapshotGenerations(t, fresh(t)) })
	t.Run("StaleFence", func(t *testing.T) { snapshotFence(t, fresh(t)) })
	t.Run("UnknownSession", func(t *testing.T) {
		s := fresh(t)
		_, err := s.PutSnapshot(t.Context(), newID(), persist.Fence{Node: "node-a"}, []byte("x"))
		wantErr(t, err, persist.ErrNotFound, "PutSnapshot of unknown session")
	})
	t.Run("DataRoundTrip", func(t *testing.T) { snapshotData(t, fresh) })
	t.Run("LastWorkspace", func(t *testing.T) { lastWorkspace(t, fresh(t)) })
}

// takenSession creates a session and takes it for node, returning its
// id and the fence that node writes with.
func takenSession(t *testing.T, s persist.Store, owner, node string) (string, persist.Fence) {
	t.Helper()
	r := newSession(owner, "snap-"+newID())
	noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession")
	epoch, err := takeOver(t, s, r.ID, node)
	noErr(t, err, "takeOver")
	return r.ID, persist.Fence{Node: node, Epoch: epoch}
}

func snapshotGenerations(t *testing.T, s persist.Store) {
	ctx := t.Context()
	id, f := takenSession(t, s, "alice", "node-a")
	other, of := takenSession(t, s, "bob", "node-a")
	data := func(gen int64) []byte { return fmt.Appendf(nil, "workspace gen %d", gen) }

	got, err := s.Snapshots(ctx, id)
	noErr(t, err, "Snapshots before any")
	if len(got) != 0 {
		t.Fatalf("Snapshots before any = %d, want 0", len(got))
	}
	for want := int64(1); want <= 6; want++ {
		gen, err := s.PutSnapshot(ctx, id, f, data(want))
		noErr(t, err, "PutSnapshot")
		if gen != want {
			t.Fatalf("PutSnapshot #%d = generation %d, want %d", want, gen, want)
		}
		snaps, err := s.Snapshots(ctx, id)
		noErr(t, err, "Snapshots")
		var gens []int64
		for _, x := range snaps {
			gens = append(gens, x.Gen)
			if x.SessionID != id || x.Epoch != f.Epoch || x.WrittenAt.IsZero() || !bytes.Equal(x.Data, data(x.Gen)) {
				t.Errorf("snapshot gen %d = {%s epoch %d at %v %q}, want {%s epoch %d, non-zero time, %q}",
					x.Gen, x.SessionID, x.Epoch, x.WrittenAt, x.Data, id, f.Epoch, data(x.Gen))
			}
		}
		var wantGens []int64 // newest first, at most keptGenerations
		for g := want; g >= 1 && g > want-keptGenerations; g-- {
			wantGens = append(wantGens, g)
		}
		if !slices.Equal(gens, wantGens) {
			t.Fatalf("after %d puts Snapshots generations = %v, want %v", want, gens, wantGens)
		}
	}

	// Generations count per session.
	gen, err := s.PutSnapshot(ctx, other, of, []byte("other"))
	noErr(t, err, "PutSnapshot other session")
	if gen != 1 {
		t.Fatalf("first PutSnapshot of another session = generation %d, want 1", gen)
	}
}

func snapshotFence(t *testing.T, s persist.Store) {
	ctx := t.Context()
	id, old := takenSession(t, s, "alice", "node-a")
	_, err := s.PutSnapshot(ctx, id, old, []byte("by a"))
	noErr(t, err, "PutSnapshot by the owner")

	epoch, err := takeOver(t, s, id, "node-b")
	noErr(t, err, "takeOver by node-b")
	cur := persist.Fence{Node: "node-b", Epoch: epoch}

	tests := []struct {
		name string
		f    persist.Fence
	}{
		{"previous owner", old},
		{"epoch zero", persist.Fence{Node: "node-b"}},
		{"future epoch", persist.Fence{Node: "node-b", Epoch: epoch + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutSnapshot(ctx, id, tt.f, []byte("must not land"))
			wantErr(t, err, persist.ErrLeaseLost, "PutSnapshot with a wrong fence")
			snaps, err := s.Snapshots(ctx, id)
			noErr(t, err, "Snapshots")
			if len(snaps) != 1 || string(snaps[0].Data) != "by a" {
				t.Fatalf("after a refused put Snapshots = %+v, want only generation 1 %q", snaps, "by a")
			}
		})
	}

	gen, err := s.PutSnapshot(ctx, id, cur, []byte("by b"))
	noErr(t, err, "PutSnapshot by the new owner")
	if gen != 2 {
		t.Fatalf("PutSnapshot by the new owner = generation %d, want 2", gen)
	}
}

func snapshotData(t *testing.T, fresh opener) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{'t', 'e', 'r', 'm'})
	rng.Read(big)
	big[0], big[len(big)/2], big[len(big)-1] = 0x00, 0xFF, 0x00

	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"single zero", []byte{0x00}},
		{"zeros", make([]byte, 64)},
		{"single 0xff", []byte{0xFF}},
		{"every byte value", every},
		{"invalid utf8 and nul", []byte("a\x00b\xff\xfe\xc3(\x00")},
		{"sealed frame", persist.Seal([]byte(`{"tabs":[{"app":"notes"}]}`))},
		{"1 MiB random", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			id, f := takenSession(t, s, "alice", "node-a")
			_, err := s.PutSnapshot(t.Context(), id, f, tt.data)
			noErr(t, err, "PutSnapshot")
			snaps, err := s.Snapshots(t.Context(), id)
			noErr(t, err, "Snapshots")
			if len(snaps) != 1 || !bytes.Equal(snaps[0].Data, tt.data) {
				t.Fatalf("snapshot data did not round-trip (%d bytes in)", len(tt.data))
			}

			noErr(t, s.PutLastWorkspace(t.Context(), "alice", tt.data), "PutLastWorkspace")
			got, err := s.LastWorkspace(t.Context(), "alice")
			noErr(t, err, "LastWorkspace")
			if !bytes.Equal(got, tt.data) {
				t.Fatalf("last workspace did not round-trip (%d bytes in, %d out)", len(tt.data), len(got))
			}
		})
	}
}

func lastWorkspace(t *testing.T, s persist.Store) {
	ctx := t.Context()
	_, err := s.LastWorkspace(ctx, "alice")
	wantErr(t, err, persist.ErrNotFound, "LastWorkspace before any")

	steps := []struct {
		name string
		data []byte
	}{
		{"put", []byte("first\x00\xff")},
		{"overwrite", []byte("second, longer than the first")},
		{"overwrite shorter", []byte("3")},
	}
	for _, st := range steps {
		noErr(t, s.PutLastWorkspace(ctx, "alice", st.data), st.name)
		got, err := s.LastWorkspace(ctx, "alice")
		noErr(t, err, "LastWorkspace after "+st.name)
		if !bytes.Equal(got, st.data) {
			t.Fatalf("LastWorkspace after %s = %q, want %q", st.name, got, st.data)
		}
	}
	_, err = s.LastWorkspace(ctx, "bob")
	wantErr(t, err, persist.ErrNotFound, "LastWorkspace of another user")
}
