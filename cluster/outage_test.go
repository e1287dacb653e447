package cluster_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"termhost/internal/pgtest"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/postgres"
	"termhost/sessions"
	"termhost/tui/apps"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// PostgreSQL stopped for longer than the lease TTL (SPEC §6 Faults): the
// attached user keeps typing, the node does not fence its own session
// (nobody could take it), the writes land once the database is back, and
// the log says when renewals failed and when they work again.
func TestPostgresOutageKeepsTyping(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &testterm.Buffer{}
	p := sessions.DefaultPolicy()
	p.LeaseTTL = time.Second
	m := sessions.NewManager(sessions.Config{Store: st, Node: "a", Policy: p, Registry: apps.Registry(),
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx, "test over")

	userEnd, serverEnd := net.Pipe()
	scr := testterm.New(80, 24, testterm.CRLF())
	scr.Pipe(userEnd)
	info := sessions.ClientInfo{Transport: "ssh", Remote: "10.0.0.1:1", Term: "xterm-256color", Width: 80, Height: 24}
	go m.Serve(ctx, serverEnd, info, sessions.User{Name: "alice"}, []string{"new", "work"})
	defer userEnd.Close()
	scr.WaitFor(t, " alice · ", wait)
	userEnd.Write([]byte("before"))
	scr.WaitFor(t, "before", wait)
	stored := func(want string) func() bool {
		return func() bool {
			recs, err := st.ListSessions(ctx, persist.SessionFilter{Owner: "alice"})
			if err != nil || len(recs) != 1 {
				return false
			}
			snaps, err := st.Snapshots(ctx, recs[0].ID)
			if err != nil || len(snaps) == 0 {
				return false
			}
			payload, err := persist.Open(snaps[0].Data)
			return err == nil && strings.Contains(string(payload), want)
		}
	}
	waitFor(t, "the first write", stored("before"))

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			srv.Start()
		}
	}()
	userEnd.Write([]byte(" during"))
	scr.WaitFor(t, "before during", wait) // typing is not held up by the store
	// Three lease TTLs without the database: the node must not fence itself.
	time.Sleep(3 * p.LeaseTTL)
	userEnd.Write([]byte(" still"))
	scr.WaitFor(t, "before during still", wait)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	deadline := time.Now().Add(30 * time.Second)
	for !stored("during still")() {
		if time.Now().After(deadline) {
			t.Fatalf("the text typed during the outage never reached the store; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "the log to say renewals work again", func() bool { return strings.Contains(logs.String(), "store reachable again") })
	if !strings.Contains(logs.String(), "store unreachable") {
		t.Errorf("the outage was not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "lease lost") {
		t.Errorf("the node fenced its own session during the outage:\n%s", logs.String())
	}
	userEnd.Write([]byte("!"))
	scr.WaitFor(t, "before during still!", wait)
}
