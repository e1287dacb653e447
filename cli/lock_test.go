package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/config"
	"termhost/persist"
	"termhost/persist/sqlite"
)

// wait bounds every wait in these tests.
const wait = 30 * time.Second

// syncBuffer is a bytes.Buffer that a server goroutine writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveConfig is a serve configuration on dir with every listener on a
// free loopback port or off (keys a build may not have yet are ignored).
func serveConfig(t *testing.T, dir string) config.Config {
	t.Helper()
	for k, v := range map[string]string{"SSH_ADDR": "127.0.0.1:0", "TELNET_ADDR": "127.0.0.1:0", "HTTP_ADDR": "", "METRICS_ADDR": ""} {
		t.Setenv("TERMHOST_"+k, v)
	}
	cfg, _, _, err := resolve("serve", []string{"--data-dir", dir}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startServe runs serve's run until the test ends and waits for "ready".
func startServe(t *testing.T, cfg config.Config) (stop func() error) {
	t.Helper()
	stop, _ = startServeOut(t, cfg)
	return stop
}

// startServeOut is startServe that also returns what serve printed.
func startServeOut(t *testing.T, cfg config.Config) (stop func() error, out *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out, slog.New(slog.NewTextHandler(logs, nil))) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			t.Fatalf("serve did not stop; logs:\n%s", logs)
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(wait)
	for !strings.Contains(out.String(), "ready\n") {
		select {
		case err := <-done:
			t.Fatalf("serve exited before ready: %v\nstdout:\n%s\nlogs:\n%s", err, out, logs)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after %s; stdout:\n%s", wait, out)
		}
	}
	return stop, out
}

// A second serve on the same data dir is refused before it touches the
// store: the running server's live sessions keep their state and get no
// "server restarted" event, and the first server keeps serving. The user
// commands still work beside it, and the lock goes with the server.
func TestSecondServeRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := serveConfig(t, dir)
	stop := startServe(t, cfg)

	// A session the running server owns, attached, as a live one is.
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	live := persist.Session{ID: "livesessionid000000000000a", Owner: "alice", Name: "1", State: persist.StateAttached,
		Node: cfg.NodeID, CreatedAt: now, LastInputAt: now, Epoch: 1}
	if err := st.CreateSession(context.Background(), live, 0); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	err = run(context.Background(), cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	want := fmt.Sprintf("data dir %s is in use by another termhost serve (pid %d)", cfg.DataDir, os.Getpid())
	if !errors.Is(err, ErrDataDirInUse) || err.Error() != want {
		t.Errorf("second serve: err = %v, want %q wrapping %v", err, want, ErrDataDirInUse)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second serve took %s to refuse", d)
	}
	got, err := st.GetSession(context.Background(), live.ID)
	if err != nil || got.State != persist.StateAttached {
		t.Errorf("the live session after a second serve: %+v, %v; want it still attached", got, err)
	}
	if events, _ := st.Events(context.Background(), live.ID); len(events) != 0 {
		t.Errorf("the live session got %d event(s) from the second serve: %+v", len(events), events)
	}

	// The first server still answers, and user verbs work beside it.
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"sessions over the socket", []string{"sessions", "list"}, "alice"},
		{"user add", []string{"user", "add", "carol", "--password-stdin"}, "added carol (user)"},
		{"user list", []string{"user", "list"}, "carol"},
		{"user del goes through the server", []string{"user", "del", "carol"}, "deleted user carol: 0 live session(s) ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Main(append(tt.args, "--data-dir", dir), strings.NewReader("carol-pw\n"), &out, &errOut); code != 0 || !strings.Contains(out.String(), tt.want) {
				t.Errorf("termhost %s = %d, stdout %q, stderr %q; want 0 and %q", strings.Join(tt.args, " "), code, out.String(), errOut.String(), tt.want)
			}
		})
	}

	if err := stop(); err != nil {
		t.Fatalf("first serve: %v", err)
	}
	// The lock went with the first server: the next one starts.
	startServe(t, cfg)
}
