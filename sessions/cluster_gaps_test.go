package sessions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/admin"
	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/internal/sshtest"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/tui/apps"
)

// Cluster promises of SPEC §6 shown with two managers on one SQLite file
// (see cluster_test.go): Who and chat cross nodes, lost wake-ups cost time
// only, admin verbs reach another node's session.

// lossyStore is one node's handle of the store whose outgoing wake-ups
// (persist.Notifier) on the channels drop names are lost, as a NOTIFY is
// when a connection drops: the durable part (requests, chat rows) still
// lands.
type lossyStore struct {
	*sqlite.Store
	drop    func(channel, payload string) bool
	dropped atomic.Int64
}

func (s *lossyStore) Notify(ctx context.Context, channel, payload string) error {
	if s.drop(channel, payload) {
		s.dropped.Add(1)
		return nil
	}
	return s.Store.Notify(ctx, channel, payload)
}

// lossyNode starts a manager named id on its own handle of e's store,
// whose Notify calls matching drop are lost.
func (e *env) lossyNode(id string, ttl time.Duration, drop func(channel, payload string) bool) (*sessions.Manager, *lossyStore) {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		e.t.Fatalf("sqlite.Open: %v", err)
	}
	e.t.Cleanup(func() { st.Close() })
	ls := &lossyStore{Store: st, drop: drop}
	p := e.policy
	p.LeaseTTL = ttl
	m := sessions.NewManager(sessions.Config{Store: ls, Clock: e.clock, Policy: p, Node: id,
		Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil))})
	e.t.Cleanup(func() { m.Shutdown(context.Background(), "test over") })
	if err := m.Start(context.Background()); err != nil {
		e.t.Fatalf("Start %s: %v", id, err)
	}
	return m, ls
}

// whoRow is alice's row in a Who table ("alice   1   attached").
func whoRow(screen, user string) string {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(l)
		for i := 0; i+2 < len(f); i++ {
			if f[i] == user && f[i+1] == "1" {
				return f[i+2]
			}
		}
	}
	return ""
}

// A user attached on node a appears in the Who tab bob keeps open on node
// b, goes "detached" there when the connection drops and leaves it when
// the session ends (SPEC §6: Who crosses nodes). The tab is not refreshed
// by hand: other nodes' changes reach it as this node's do.
func TestWhoCrossesNodes(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)
	cb := e.serve(b, bob, info("10.0.0.2:2002", 80, 24))
	cb.waitFor(" bob · ")
	cb.send("\x02c4") // a Who tab
	cb.scr.WaitUntil(t, "bob in the Who tab", wait, func(s string) bool { return whoRow(s, "bob") == "attached" })

	ca := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	ca.waitFor(" alice · ")
	cb.scr.WaitUntil(t, "alice attached on node a in bob's Who tab on node b", wait, func(s string) bool {
		return whoRow(s, "alice") == "attached"
	})
	id := e.only(alice).ID

	ca.conn.Close() // alice's connection drops: the session stays, detached
	if err := ca.waitDone(); err != nil {
		t.Errorf("alice's Serve: %v", err)
	}
	cb.scr.WaitUntil(t, "alice detached in bob's Who tab", wait, func(s string) bool {
		return strings.HasPrefix(whoRow(s, "alice"), "detached")
	})

	if err := a.Kill(context.Background(), id, "root"); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	cb.scr.WaitUntil(t, "alice gone from bob's Who tab", wait, func(s string) bool {
		return whoRow(s, "bob") == "attached" && !strings.Contains(s, "alice")
	})
}

// A chat line posted on node a whose wake-up never leaves a (the NOTIFY is
// lost) still reaches bob's open Chat tab on node b through the relay's
// ChatSince catch-up, within its poll period, and is shown once, also
// after later lines arrive by wake-up (SPEC §6: NOTIFY has no replay).
func TestChatCatchUpAfterLostNotification(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, la := e.lossyNode("a", 10*time.Second, func(ch, _ string) bool { return ch == persist.ChatChannel })
	b := e.node("b", 10*time.Second, true)
	ca := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	cb := e.serve(b, bob, info("10.0.0.2:2002", 80, 24))
	for _, c := range []*client{ca, cb} {
		c.waitFor(" · ")
		c.send("\x02c3") // a Chat tab
		c.waitFor("#lobby")
	}

	start := time.Now()
	ca.send("lost wake-up line\r")
	cb.waitFor("alice: lost wake-up line")
	took := time.Since(start)
	t.Logf("a line whose wake-up was lost reached the other node after %s", took)
	if la.dropped.Load() == 0 {
		t.Fatal("no chat wake-up was dropped: the test shows nothing")
	}
	// The relay polls every second; a second more is -race and a busy CI.
	if took > 3*time.Second {
		t.Errorf("catch-up took %s; the relay polls every second", took)
	}

	// Later lines, woken normally from b and caught up on a, show the
	// lost one no second time on either node.
	cb.send("woken line\r")
	ca.waitFor("bob: woken line")
	cb.waitFor("bob: woken line")
	ca.send("second lost line\r")
	for _, c := range []*client{ca, cb} { // a's own relay polls for it too
		c.waitFor("alice: second lost line")
	}
	for name, c := range map[string]*client{"a": ca, "b": cb} {
		screen := c.scr.Text()
		for _, line := range []string{"alice: lost wake-up line", "bob: woken line", "alice: second lost line"} {
			if n := strings.Count(screen, line); n != 1 {
				t.Errorf("node %s shows %q %d times:\n%s", name, line, n, screen)
			}
		}
	}
}

// An attach on node b for a session node a runs completes when b's
// request for the hand-off is never announced (its NOTIFY lost): a finds
// the durable request at its next renewal (serveRequests). It costs up to
// a renewal period (LeaseTTL/3), not correctness (SPEC §6).
func TestHandOffWithLostNotification(t *testing.T) {
	const ttl = 900 * time.Millisecond // a renews every 300 ms
	e := newEnv(t, testPolicy())
	a := e.node("a", ttl, true)
	b, lb := e.lossyNode("b", ttl, func(ch, payload string) bool {
		return ch == persist.NodeChannel("a") && payload == "request"
	})

	c1 := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c1.waitFor(" alice · ")
	c1.send("typed on a")
	c1.waitFor("typed on a")
	id := e.only(alice).ID
	e.settle(a, "10.0.0.1:1001")
	before := e.record(id)

	start := time.Now()
	c2 := e.serve(b, alice, info("10.0.0.2:2002", 80, 24))
	c2.waitFor("typed on a")
	took := time.Since(start)
	t.Logf("hand-off with the request's wake-up lost: %s (renewal every %s)", took, ttl/3)
	if lb.dropped.Load() == 0 {
		t.Fatal("no request wake-up was dropped: the test shows nothing")
	}
	c1.waitFor("session attached from 10.0.0.2:2002 on node b")
	if after := e.record(id); after.Node != "b" || after.Epoch <= before.Epoch {
		t.Errorf("record after the hand-off: node %q epoch %d; want node b, epoch > %d", after.Node, after.Epoch, before.Epoch)
	}
	c2.send("!")
	c2.waitFor("typed on a!")
}

// sshOn serves SSH on loopback for node m, wired as cli/serve.go does,
// with root as an admin who logs in with key; it returns a client
// connected as root.
func (e *env) sshOn(m *sessions.Manager, key gossh.Signer) *gossh.Client {
	e.t.Helper()
	ctx := context.Background()
	root := persist.User{Name: "root", Role: persist.RoleAdmin, CreatedAt: time.Now(), Keys: []string{auth.NormalizeKey(key.PublicKey())}}
	if err := e.store.CreateUser(ctx, root); err != nil {
		e.t.Fatal(err)
	}
	host := sshtest.Signer(e.t)
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	srv, err := sshd.Listen(sshd.Config{
		Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: host}},
		Auth: &auth.Authenticator{Users: e.store, Log: log}, Users: e.store, Manager: m,
		Admin:     &admin.Runner{Manager: m, Audit: e.store, Now: time.Now},
		Admission: admission.New(admission.Config{MaxUnauth: 4, Grace: wait}), Log: log,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	e.t.Cleanup(func() {
		srv.Close()
		<-done
	})
	c, err := gossh.Dial("tcp", srv.Addr().String(), &gossh.ClientConfig{User: "root", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.FixedHostKey(host.PublicKey()), Timeout: wait})
	if err != nil {
		e.t.Fatalf("ssh to node: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// `sessions show` and `sessions detach` run on node b for a session live
// on node a (SPEC §6: admin verbs from any node on any session), from the
// admin socket's runner and over SSH as an admin: show names a as the
// owner with a's client; detach tells a's client and drops it, and the
// session stays live on a, detached.
func TestAdminShowAndDetachFromAnotherNode(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)
	key := sshtest.Signer(t)
	overSSH := e.sshOn(b, key)
	socket := &admin.Runner{Manager: b, Audit: e.store, Now: time.Now}
	tests := []struct {
		name string
		run  func(args ...string) (code int, stdout, stderr string)
	}{
		{name: "admin socket", run: func(args ...string) (int, string, string) {
			var out, errOut strings.Builder
			code := socket.Run(context.Background(), "root", args, &out, &errOut)
			return code, out.String(), errOut.String()
		}},
		{name: "ssh admin@b", run: func(args ...string) (int, string, string) {
			return sshtest.Run(t, overSSH, strings.Join(args, " "))
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := fmt.Sprintf("10.0.0.1:%d", 1001+i)
			c := e.serve(a, alice, info(remote, 80, 24))
			c.waitFor(" alice · ")
			e.settle(a, remote)
			id := e.only(alice).ID

			code, out, errOut := tt.run("sessions", "show", id, "--json")
			if code != 0 {
				t.Fatalf("show from b: exit %d: %s", code, errOut)
			}
			var shown struct {
				Node    string                `json:"node"`
				State   string                `json:"state"`
				Clients []sessions.ClientView `json:"clients"`
				History []persist.Event       `json:"history"`
			}
			if err := json.Unmarshal([]byte(out), &shown); err != nil {
				t.Fatalf("show --json from b: %v\n%s", err, out)
			}
			if shown.Node != "a" || shown.State != persist.StateAttached || len(shown.Clients) != 1 || shown.Clients[0].Remote != remote || len(shown.History) == 0 {
				t.Errorf("show from b: node %q state %q clients %+v, %d events; want a's attached session with the client from %s",
					shown.Node, shown.State, shown.Clients, len(shown.History), remote)
			}

			code, out, errOut = tt.run("sessions", "detach", id)
			if code != 0 || !strings.Contains(out, "detached 1 client(s)") {
				t.Fatalf("detach from b: exit %d, out %q, err %q", code, out, errOut)
			}
			c.waitFor("detached by root")
			if err := c.waitDone(); err != nil {
				t.Errorf("the detached client's Serve: %v", err)
			}
			infos, err := a.List(context.Background(), "alice", "")
			if err != nil || len(infos) != 1 || infos[0].ID != id || infos[0].State != persist.StateDetached || infos[0].Node != "a" || len(infos[0].Clients) != 0 {
				t.Errorf("on a after the detach from b: %+v, %v; want the session kept, detached, on a", infos, err)
			}
			if r := e.record(id); r.Node != "a" || r.State != persist.StateDetached {
				t.Errorf("record after the detach: node %q state %q", r.Node, r.State)
			}
		})
	}
}
