package sessions

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"termhost/seal"
)

// TestSealedWorkspaceRestoresIdenticalScreen is issue 12's property: for
// random workspaces, a snapshot that travels as a seal (as a workspace
// ticket does: Seal, the browser keeps the text, Open) restores to the
// identical screen and state. The seal must hand back the payload byte for
// byte, whatever the compression level it chose.
func TestSealedWorkspaceRestoresIdenticalScreen(t *testing.T) {
	k, err := seal.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewRing([]seal.Key{k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := newPropWorld(t, "sealed")
	u := User{Name: "prop", Admin: true}
	sizes := [][2]int{{80, 24}, {20, 5}, {132, 40}, {33, 9}}
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 12))
		ws := pw.newWS(u)
		ws.SessionName = "p"
		for range 10 + r.IntN(80) {
			pw.step(ws, propKeys(r))
		}
		size := sizes[r.IntN(len(sizes))]
		ws.View(size[0], size[1])
		data, err := ws.Snapshot()
		if err != nil {
			t.Fatalf("seed %d: snapshot: %v", seed, err)
		}
		ticket, err := ring.Seal("workspace:p", data, time.Hour)
		if err != nil {
			t.Fatalf("seed %d: seal %d bytes: %v", seed, len(data), err)
		}
		opened, err := ring.Open("workspace:p", ticket)
		if err != nil || !bytes.Equal(opened, data) {
			t.Fatalf("seed %d: open: %v (payload equal: %v)", seed, err, bytes.Equal(opened, data))
		}
		restored, err := pw.restore(u, opened)
		if err != nil {
			t.Fatalf("seed %d: restore: %v\n%s", seed, err, opened)
		}
		restored.SessionName = "p"
		restored.Notice = ws.Notice // a notice lasts until the next key; it is not state
		if want, got := propScreen(t, ws.Workspace, size[0], size[1]), propScreen(t, restored.Workspace, size[0], size[1]); want != got {
			t.Fatalf("seed %d at %dx%d: restored screen differs\nwant:\n%s\ngot:\n%s", seed, size[0], size[1], want, got)
		}
		if again, _ := restored.Snapshot(); !bytes.Equal(again, data) {
			t.Fatalf("seed %d: restored state differs\n%s\n%s", seed, data, again)
		}
	}
}
