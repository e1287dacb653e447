package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
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

// TestDrainRefusesStoppedNodes: a drain request left for a node that is
// down would only drain its next start (newcomer trial: a node drained,
// stopped for maintenance and started again quit on its own); a draining
// node is not asked twice.
func TestDrainRefusesStoppedNodes(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, n := range []persist.Node{
		{ID: "stopped", Boot: "b1", Addr: "ssh=:2222", Started: time.Now().Add(-time.Hour)},
		{ID: "leaving", Boot: "b2", Addr: "ssh=:2223", Started: time.Now(), Draining: true},
		{ID: "shutdown", Boot: "b3", Addr: "ssh=:2224", Started: time.Now(), Draining: true, Stopped: true},
		{ID: "serving", Boot: "b4", Addr: "ssh=:2225", Started: time.Now()},
	} {
		if err := st.Heartbeat(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	// Last heard of a minute ago: past 1.5 lease TTLs (10 s).
	if _, err := st.DB().ExecContext(t.Context(), `UPDATE nodes SET seen_at = ? WHERE id = 'stopped'`, time.Now().Add(-time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, node string
		code       int
		out, err   string
	}{
		{name: "down", node: "stopped", code: 1, err: `node "stopped" is down`},
		{name: "already draining", node: "leaving", code: 0, out: "draining already"},
		{name: "shut down cleanly", node: "shutdown", code: 1, err: `node "shutdown" stopped`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main([]string{"nodes", "drain", tt.node, "--data-dir", dir}, nil, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.err) {
				t.Errorf("nodes drain %s: exit %d, out %q, err %q; want %d, %q, %q", tt.node, code, out.String(), errOut.String(), tt.code, tt.out, tt.err)
			}
			if reqs, err := st.TakeRequests(t.Context(), tt.node); err != nil || len(reqs) != 0 {
				t.Errorf("requests left for %s: %+v, %v; want none", tt.node, reqs, err)
			}
		})
	}

	// nodes list names each state: no heartbeat for 1.5 TTLs is down, a
	// last heartbeat that said so is stopped (at once, not 1.5 TTLs later).
	var out, errOut bytes.Buffer
	if code := Main([]string{"nodes", "list", "--data-dir", dir}, nil, &out, &errOut); code != 0 {
		t.Fatalf("nodes list: %d %s", code, errOut.String())
	}
	for node, state := range map[string]string{"stopped": "down", "leaving": "draining", "shutdown": "stopped", "serving": "up"} {
		if !regexp.MustCompile(`(?m)^` + node + ` +` + state + ` `).MatchString(out.String()) {
			t.Errorf("nodes list: %s is not %q:\n%s", node, state, out.String())
		}
	}
	out.Reset()
	if code := Main([]string{"nodes", "list", "--json", "--data-dir", dir}, nil, &out, &errOut); code != 0 {
		t.Fatalf("nodes list --json: %d %s", code, errOut.String())
	}
	var got []nodeJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, n := range got {
		if want := n.ID == "shutdown"; n.Stopped != want || (want && n.Alive) {
			t.Errorf("nodes list --json: %+v, want stopped=%v and a stopped node not alive", n, want)
		}
	}
}
