package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// ErrNodeDown: `nodes drain` of a node that is not running.
var ErrNodeDown = errors.New("nothing to drain")

const nodesUsage = `usage: termhost nodes list [--json] [--store DSN]
       termhost nodes drain ID [--store DSN]
`

// nodesCmd shows the nodes of a cluster and asks one to drain (SPEC §6),
// through the store, so it works from any machine that reaches it.
// `nodes drain ID` queues a durable request and wakes the node: it hands
// every session off and exits, as on SIGTERM.
func nodesCmd(args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	cfg, pos, fs, err := resolve("nodes", args, false, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if err != nil {
		return failResolve(err, nodesUsage, fs, stdout, stderr)
	}
	if len(pos) == 1 && pos[0] == "help" {
		fmt.Fprint(stdout, flagHelp(nodesUsage, fs))
		return 0
	}
	switch {
	case len(pos) == 1 && (pos[0] == "list" || pos[0] == "ls"):
	case len(pos) == 2 && pos[0] == "drain":
	default:
		fmt.Fprint(stderr, nodesUsage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer store.Close()
	if pos[0] == "drain" {
		err = drainNode(ctx, store, pos[1], cfg.LeaseTTL, stdout)
	} else {
		err = listNodes(ctx, store, cfg.LeaseTTL, asJSON, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// nodeJSON is one element of `nodes list --json`.
type nodeJSON struct {
	ID       string    `json:"id"`
	Boot     string    `json:"boot"`
	Addr     string    `json:"addr"`
	Started  time.Time `json:"started"`
	Seen     time.Time `json:"seen"`
	Alive    bool      `json:"alive"`
	Draining bool      `json:"draining"`
	Stopped  bool      `json:"stopped"` // shut down cleanly at Seen
}

// listNodes prints every node the store knows; a node is alive when it
// heartbeated within 1.5 lease TTLs (it heartbeats every TTL/3; by then
// a dead node's leases have expired too) and did not say it stopped. Its
// state: up, draining, stopped (shut down cleanly) or down (no heartbeat:
// killed, crashed or cut off).
func listNodes(ctx context.Context, store persist.Nodes, ttl time.Duration, asJSON bool, w io.Writer) error {
	nodes, err := store.ListNodes(ctx)
	if err != nil {
		return err
	}
	out := make([]nodeJSON, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, nodeJSON{ID: n.ID, Boot: n.Boot, Addr: n.Addr, Started: n.Started.UTC(), Seen: n.Seen.UTC(),
			Alive: !n.Stopped && time.Since(n.Seen) < ttl+ttl/2, Draining: n.Draining, Stopped: n.Stopped})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tSEEN\tSTARTED\tLISTENS")
	for _, n := range out {
		state := "down"
		switch {
		case n.Stopped:
			state = "stopped"
		case n.Alive && n.Draining:
			state = "draining"
		case n.Alive:
			state = "up"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\n", tui.Printable(n.ID), state, time.Since(n.Seen).Round(time.Second), n.Started.Format(time.RFC3339), tui.Printable(n.Addr))
	}
	return tw.Flush()
}

// drainNode asks node id to drain. A node that is down (no heartbeat
// within 1.5 lease TTLs) or already draining is not asked: a request left
// for a stopped node would only drain its next start.
func drainNode(ctx context.Context, store persist.Store, id string, ttl time.Duration, w io.Writer) error {
	nodes, err := store.ListNodes(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(nodes, func(n persist.Node) bool { return n.ID == id })
	if i < 0 {
		return fmt.Errorf("node %q: %w (see `termhost nodes list`)", id, persist.ErrNotFound)
	}
	switch n := nodes[i]; {
	case n.Stopped:
		return fmt.Errorf("node %q stopped %s ago: %w; its sessions were handed off or hibernated", id, time.Since(n.Seen).Round(time.Second), ErrNodeDown)
	case time.Since(n.Seen) >= ttl+ttl/2:
		return fmt.Errorf("node %q is down (last seen %s ago): %w; its sessions are taken over by other nodes as their leases run out", id, time.Since(n.Seen).Round(time.Second), ErrNodeDown)
	case n.Draining:
		fmt.Fprintf(w, "node %s is draining already\n", id)
		return nil
	}
	if _, err := store.PostRequest(ctx, persist.Request{Node: id, Kind: persist.RequestDrain, Actor: "operator"}); err != nil {
		return err
	}
	if err := store.Notify(ctx, persist.NodeChannel(id), "request"); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "note: the wake-up was not sent; the node sees the request at its next renewal")
	}
	fmt.Fprintf(w, "asked node %s to drain: its sessions move to the other nodes and it exits\n", id)
	return nil
}
