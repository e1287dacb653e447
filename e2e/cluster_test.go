package e2e

import (
	"strings"
	"testing"
	"time"
)

// Cluster mode end to end (SPEC §6, issue 10 "Done when"): three real
// nodes on one PostgreSQL behind HAProxy, reached by OpenSSH in tmux and by
// Go SSH clients. Run them with
//
//	go test ./e2e -run TestCluster -v -count 1
//
// Without PostgreSQL or HAProxy they skip; under TERMHOST_E2E=1 they fail.

// findSession is the listed session of user, or nil.
func findSession(l []jsonSession, user string) *jsonSession {
	for i := range l {
		if l[i].User == user && l[i].State != "ended" {
			return &l[i]
		}
	}
	return nil
}

// Done-when 1: type, detach, reconnect through HAProxy lands on another
// node and shows the text; an admin listing from node C shows the sessions
// of A and B with their node and the real client address (ssh bound to
// 127.0.0.7 through HAProxy's PROXY v2); admin kill from C ends a session
// on A; a chat line from a user on A reaches a user on B.
func TestClusterReconnectElsewhere(t *testing.T) {
	c := startCluster(t, 3, 2*time.Second)
	nodeC := c.node("c")
	key := keyFile(t)

	c.route("a")
	alice := c.attachVia(key, "alice", "-b", "127.0.0.7")
	alice.typeText("typed on node a")
	alice.waitFor("typed on node a")
	carol := mustDial(t, c.hap.front, "127.0.0.8", "carol", newSigner(t), "")
	carol.scr.WaitFor(t, " carol · ", 10*time.Second)
	c.route("b")
	bob := mustDial(t, c.hap.front, "", "bob", newSigner(t), "")
	bob.scr.WaitFor(t, " bob · ", 10*time.Second)

	// Node C runs none of them and lists all three, with owner and address.
	list := nodeC.waitList(t, "alice and carol on a, bob on b, each with its client", func(l []jsonSession) bool {
		for user, node := range map[string]string{"alice": "a", "carol": "a", "bob": "b"} {
			s := findSession(l, user)
			if s == nil || s.Node != node || len(s.Clients) != 1 {
				return false
			}
		}
		return true
	})
	if got := findSession(list, "alice").Clients[0].RemoteAddr; !strings.HasPrefix(got, "127.0.0.7:") {
		t.Errorf("alice's client is listed as %s; want 127.0.0.7:PORT (ssh -b 127.0.0.7 through HAProxy)", got)
	}
	if got, want := findSession(list, "carol").Clients[0].RemoteAddr, carol.local; got != want {
		t.Errorf("carol's client is listed as %s; want %s", got, want)
	}

	// Chat crosses nodes: carol on a, bob on b.
	for _, g := range []*goClient{carol, bob} {
		g.send(t, "\x02c3") // ctrl+b c, app 3: Chat
		g.scr.WaitFor(t, "#lobby", 10*time.Second)
	}
	carol.send(t, "hello from node a\r")
	bob.scr.WaitFor(t, "carol: hello from node a", 10*time.Second)

	// Admin kill from C ends carol's session on a; her client is told.
	carolID := findSession(list, "carol").ID
	if out, err := nodeC.cli("sessions", "kill", carolID); err != nil {
		t.Fatalf("sessions kill from node c: %v\n%s", err, out)
	}
	carol.scr.WaitRaw(t, "killed by", 10*time.Second)
	carol.waitClosed(t, 10*time.Second)
	c.node("a").waitList(t, "carol's session ended", func(l []jsonSession) bool { return findSession(l, "carol") == nil })

	// alice detaches; a reconnect through HAProxy, with a out of rotation,
	// lands on b or c and shows her text (hand-off from a).
	alice.send("C-b", "d")
	alice.waitFor("[exited]")
	c.route("b", "c")
	again := c.attachVia(key, "alice", "-b", "127.0.0.7")
	again.waitFor("typed on node a")
	list = nodeC.waitList(t, "alice's session moved off a", func(l []jsonSession) bool {
		s := findSession(l, "alice")
		return s != nil && s.Node != "a" && len(s.Clients) == 1
	})
	if got := findSession(list, "alice").Clients[0].RemoteAddr; !strings.HasPrefix(got, "127.0.0.7:") {
		t.Errorf("after the hand-off alice's client is listed as %s; want 127.0.0.7:PORT", got)
	}
	again.typeText(" and on " + findSession(list, "alice").Node)
	again.waitFor("typed on node a and on ")
}
