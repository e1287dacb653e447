package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkSharedHostKey shows SPEC §6 "every node presents the same SSH host
// keys" to a real OpenSSH client with a real known_hosts file: the key is
// learned once (StrictHostKeyChecking=accept-new) through HAProxy while it
// routes to node a; then, with StrictHostKeyChecking=yes, the client
// reaches nodes b and c through HAProxy and every node directly without a
// complaint. A direct connection names the load balancer's entry with
// HostKeyAlias, as a client that learned it there would meet a node (a
// different key would fail with "REMOTE HOST IDENTIFICATION HAS CHANGED").
// user must already have an account with key. It leaves HAProxy routing to
// the last node.
func checkSharedHostKey(t *testing.T, c *cluster, key, user string) {
	t.Helper()
	need(t, "ssh")
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	_, front, _ := net.SplitHostPort(c.hap.front)
	alias := "[127.0.0.1]:" + front // the entry the first connection writes

	// sshLs runs `ls` (a user verb) with the given options and port, from
	// the client address bind ("" : 127.0.0.1, HAProxy's way in).
	sshLs := func(strict, port, bind string, extra ...string) (string, error) {
		args := []string{"-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=" + strict, "-o", "UserKnownHostsFile=" + knownHosts,
			"-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-p", port}
		if bind != "" {
			args = append(args, "-b", bind)
		}
		args = append(append(args, extra...), user+"@127.0.0.1", "ls")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "ssh", args...)
		cmd.Stderr = &stderr
		_, err := cmd.Output()
		return stderr.String(), err
	}

	start := time.Now()
	c.route("a")
	if stderr, err := sshLs("accept-new", front, ""); err != nil {
		t.Fatalf("first connection (accept-new) through HAProxy to node a: %v\n%s", err, stderr)
	}
	learned, err := os.ReadFile(knownHosts)
	if err != nil || !strings.HasPrefix(string(learned), alias+" ") {
		t.Fatalf("known_hosts after the first connection: %q, %v; want an entry for %s", learned, err, alias)
	}

	type hop struct {
		name  string
		route string   // HAProxy routes to this node ("" : left as is)
		port  string   // where the client connects
		bind  string   // the client's address
		extra []string // more ssh options
	}
	var hops []hop
	for _, id := range []string{"b", "c"} {
		hops = append(hops, hop{name: "through HAProxy to node " + id, route: id, port: front})
	}
	for _, n := range c.nodes {
		_, port, _ := net.SplitHostPort(n.ssh)
		// 127.0.0.9: a direct client, not a trusted PROXY sender.
		hops = append(hops, hop{name: "directly to node " + n.id, port: port, bind: "127.0.0.9", extra: []string{"-o", "HostKeyAlias=" + alias}})
	}
	for _, h := range hops {
		if h.route != "" {
			c.route(h.route)
		}
		stderr, err := sshLs("yes", h.port, h.bind, h.extra...)
		if err != nil || strings.Contains(strings.ToLower(stderr), "warning") || strings.Contains(stderr, "verification failed") {
			t.Errorf("%s with StrictHostKeyChecking=yes: %v\n%s", h.name, err, stderr)
		}
	}
	if after, _ := os.ReadFile(knownHosts); !bytes.Equal(after, learned) {
		t.Errorf("known_hosts changed after the first connection:\nbefore %q\nafter  %q", learned, after)
	}
	// The control: the same client refuses a key it has not learned, so
	// the checks above were checks.
	_, port, _ := net.SplitHostPort(c.nodes[0].ssh)
	if stderr, err := sshLs("yes", port, "127.0.0.9", "-o", "HostKeyAlias=never-seen"); err == nil || !strings.Contains(stderr, "verification failed") {
		t.Errorf("StrictHostKeyChecking=yes let an unknown host key through: %v\n%s", err, stderr)
	}
	t.Logf("shared host key: %d OpenSSH connections checked in %s", len(hops)+2, time.Since(start))
}
