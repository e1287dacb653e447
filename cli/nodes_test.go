package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
)

// nodes list shows what nodes announced, nodes drain queues a durable
// request for that node and refuses an unknown one.
func TestNodesListAndDrain(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Heartbeat(t.Context(), persist.Node{ID: "node1", Boot: "b1", Addr: "ssh=:2222", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"nodes", "list", "--json", "--data-dir", dir}, nil, &out, &errOut); code != 0 {
		t.Fatalf("nodes list: %d %s", code, errOut.String())
	}
	var got []nodeJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != 1 || got[0].ID != "node1" || !got[0].Alive || got[0].Addr != "ssh=:2222" {
		t.Fatalf("nodes list --json = %s (%v)", out.String(), err)
	}
	out.Reset()
	if code := Main([]string{"nodes", "drain", "nosuch", "--data-dir", dir}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not found") {
		t.Errorf("drain of an unknown node: %d %q", code, errOut.String())
	}
	if code := Main([]string{"nodes", "drain", "node1", "--store", "sqlite:" + filepath.Join(dir, "termhost.db")}, nil, &out, &errOut); code != 0 {
		t.Fatalf("nodes drain: %d %s", code, errOut.String())
	}
	// --store names the store as serve's --store does (the README's
	// cluster walkthrough: `nodes list --store $DSN`), on every command.
	for _, args := range [][]string{{"nodes", "list", "--store", "sqlite:" + filepath.Join(dir, "termhost.db")}, {"user", "list", "--store", "sqlite:" + filepath.Join(dir, "termhost.db")}} {
		out.Reset()
		errOut.Reset()
		if code := Main(args, nil, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d, %s", args, code, errOut.String())
		}
	}
	reqs, err := st.TakeRequests(t.Context(), "node1")
	if err != nil || len(reqs) != 1 || reqs[0].Kind != persist.RequestDrain {
		t.Fatalf("requests for node1 after drain: %+v, %v", reqs, err)
	}
}
