package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"termhost/persist/sqlite"
	"termhost/sessions"
)

func testLink(t *testing.T) *Link {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "link.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l, err := Listen(context.Background(), "127.0.0.1:0", "a", st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l.SetServe(func(ctx context.Context, conn sessions.Conn, info sessions.ClientInfo, u sessions.User, args []string) error {
		_, err := conn.Write([]byte("served"))
		return err
	})
	go l.Serve()
	t.Cleanup(func() { l.Close() })
	return l
}

// send dials l, sends a hello and reports whether it was served.
func send(t *testing.T, l *Link, h hello) bool {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := json.Marshal(h)
	c.Write(append(b, '\n'))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fc := &frameConn{c: c, r: bufio.NewReader(c)}
	buf := make([]byte, 16)
	n, _ := fc.Read(buf)
	return string(buf[:n]) == "served"
}

// A captured hello cannot be played again (attack trial: the HMAC alone let
// a replay within the ±30 s window open another client, admin flag and all).
func TestLinkRefusesReplayedHello(t *testing.T) {
	l := testLink(t)
	h := hello{V: 1, From: "b", User: "alice", Session: "s1", At: time.Now().Unix(), Nonce: nonce()}
	h.MAC = h.sum(l.key)
	if !send(t, l, h) {
		t.Fatal("a fresh signed hello was not served")
	}
	if send(t, l, h) {
		t.Fatal("the same hello was served twice")
	}
	h.Nonce = ""
	h.MAC = h.sum(l.key)
	if send(t, l, h) {
		t.Fatal("a hello without a nonce was served")
	}
}

// Connections that say nothing are bounded: past maxWaiting one is closed
// at once instead of holding a descriptor for the hello's 10 s.
func TestLinkBoundsSilentConnections(t *testing.T) {
	l := testLink(t)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range maxWaiting {
		c, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		w := l.waiting
		l.mu.Unlock()
		if w == maxWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", w, maxWaiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("connection %d: read %v; want it closed at once (EOF)", maxWaiting+1, err)
	}
}
