package cluster_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"termhost/cluster"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

const wait = 10 * time.Second

type node struct {
	m     *sessions.Manager
	link  *cluster.Link
	store *sqlite.Store
}

// startNode runs a manager named id with its link, on its own handle of
// the store at path (two nodes, one database).
func startNode(t *testing.T, path, id string, logs *testterm.Buffer) node {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logs, nil))
	link, err := cluster.Listen(context.Background(), "127.0.0.1:0", id, st, log)
	if err != nil {
		t.Fatal(err)
	}
	m := sessions.NewManager(sessions.Config{Store: st, Node: id, Registry: apps.Registry(), Log: log,
		Addr: "link=" + link.Addr(), Forwarder: link})
	link.SetServe(m.Serve)
	go link.Serve()
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		link.Close()
		m.Shutdown(context.Background(), "test over")
		st.Close()
	})
	return node{m: m, link: link, store: st}
}

// twoNodes starts nodes a and b on one store and waits until each has
// announced its link address (a forward needs the owner's).
func twoNodes(t *testing.T) (node, node) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	logs := &testterm.Buffer{}
	a, b := startNode(t, path, "a", logs), startNode(t, path, "b", logs)
	waitFor(t, "both node records", func() bool {
		ns, _ := a.store.ListNodes(context.Background())
		return len(ns) == 2
	})
	return a, b
}

// client serves one user connection on n through an in-memory pipe.
func client(t *testing.T, n node, remote string, args ...string) (*testterm.Screen, net.Conn) {
	t.Helper()
	userEnd, serverEnd := net.Pipe()
	scr := testterm.New(80, 24, testterm.CRLF())
	scr.Pipe(userEnd)
	info := sessions.ClientInfo{Transport: "ssh", Remote: remote, Term: "xterm-256color", Width: 80, Height: 24}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.m.Serve(context.Background(), serverEnd, info, sessions.User{Name: "alice"}, args)
		serverEnd.Close()
	}()
	t.Cleanup(func() {
		userEnd.Close()
		<-done
		scr.Close()
	})
	return scr, userEnd
}

func TestSharedAttachFromAnotherNodeIsForwarded(t *testing.T) {
	a, b := twoNodes(t)

	s1, c1 := client(t, a, "10.0.0.1:1001", "new", "work")
	s1.WaitFor(t, " alice · ", wait)
	c1.Write([]byte("from a"))
	s1.WaitFor(t, "from a", wait)

	s2, c2 := client(t, b, "10.0.0.2:2002", "attach", "work", "--shared")
	s2.WaitFor(t, "from a", wait)
	c2.Write([]byte(" and b"))
	s1.WaitFor(t, "from a and b", wait)
	s2.WaitFor(t, "from a and b", wait)

	// No ping-pong: node a still runs it, with both clients.
	recs, err := b.store.ListSessions(context.Background(), persist.SessionFilter{Owner: "alice"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("sessions: %v %v", recs, err)
	}
	if recs[0].Node != "a" {
		t.Errorf("session moved to node %q; want it kept on a", recs[0].Node)
	}
	infos, err := a.m.List(context.Background(), "alice", "")
	if err != nil || len(infos) != 1 || len(infos[0].Clients) != 2 {
		t.Fatalf("listing on a: %+v, %v; want one session with 2 clients", infos, err)
	}
	remotes := infos[0].Clients[0].Remote + " " + infos[0].Clients[1].Remote
	if !strings.Contains(remotes, "10.0.0.2:2002") {
		t.Errorf("the forwarded client shows as %q; want its own address 10.0.0.2:2002", remotes)
	}

	// The forwarded client leaves: the session stays attached on a.
	c2.Close()
	waitFor(t, "the forwarded client to be detached", func() bool {
		infos, _ := a.m.List(context.Background(), "alice", "")
		return len(infos) == 1 && len(infos[0].Clients) == 1
	})
}

// A hello that is not signed with the cluster's key is refused.
func TestLinkRefusesUnsignedHello(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	logs := &testterm.Buffer{}
	a := startNode(t, path, "a", logs)
	for _, tc := range []struct{ name, hello string }{
		{"no mac", `{"v":1,"user":"alice","session":"x","at":` + itoa(time.Now().Unix()) + "}\n"},
		{"wrong mac", `{"v":1,"user":"alice","session":"x","at":` + itoa(time.Now().Unix()) + `,"mac":"00"}` + "\n"},
		{"garbage", "\x00\x01\x02 not json\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", a.link.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(tc.hello))
			c.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 64)
			if n, err := c.Read(buf); err == nil {
				t.Fatalf("the link answered %q to an unauthenticated hello", buf[:n])
			}
			waitFor(t, "the refusal to be logged", func() bool {
				return strings.Contains(logs.String(), "authentication failed") || strings.Contains(logs.String(), "bad hello")
			})
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The owner's link going away without a farewell (the node died) is said
// to the forwarded client; a farewell (the session ended) is not doubled.
func TestForwardedClientToldWhenOwnerDies(t *testing.T) {
	a, b := twoNodes(t)
	s1, _ := client(t, a, "10.0.0.1:1001", "new", "work")
	s1.WaitFor(t, " alice · ", wait)
	s2, _ := client(t, b, "10.0.0.2:2002", "attach", "work", "--shared")
	s2.WaitFor(t, " alice · ", wait)
	a.link.Close() // the owner's end of every link drops, as when its process dies
	s2.WaitFor(t, "the node running this session stopped", wait)
}

// `attach --shared` without a name joins the user's one session on the
// node that runs it, as on a single node (it used to hand the session off).
func TestSharedAttachWithoutNameIsForwarded(t *testing.T) {
	a, b := twoNodes(t)
	s1, c1 := client(t, a, "10.0.0.1:1001", "new", "work")
	s1.WaitFor(t, " alice · ", wait)
	c1.Write([]byte("kept on a"))
	s1.WaitFor(t, "kept on a", wait)
	s2, _ := client(t, b, "10.0.0.2:2002", "attach", "--shared")
	s2.WaitFor(t, "kept on a", wait)
	if strings.Contains(s1.Text(), "session attached from") {
		t.Fatalf("the first client was taken over:\n%s", s1.Text())
	}
	recs, err := b.store.ListSessions(context.Background(), persist.SessionFilter{Owner: "alice"})
	if err != nil || len(recs) != 1 || recs[0].Node != "a" {
		t.Fatalf("sessions after the shared attach: %+v, %v; want one, still on a", recs, err)
	}
}
