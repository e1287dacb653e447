package sshd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
	"termhost/internal/testterm"
	"termhost/sessions"
	"termhost/sshd"
)

// TestLongCommandIsRefused: a command line over sshd.MaxCommand is refused
// with a clear error and exit status 1 before it is split into words (one
// 240 KB word cost 9.8 s of CPU in go-shlex); a long one under it runs.
func TestLongCommandIsRefused(t *testing.T) {
	s := startServer(t, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(t)))
	tests := []struct {
		name    string
		cmd     string
		refused bool
	}{
		{name: "one 240 KB word", cmd: strings.Repeat("a", 240<<10), refused: true},
		{name: "240 KB of words", cmd: "kill" + strings.Repeat(" x", 120<<10), refused: true},
		{name: "an admin verb, refused before the admin check", cmd: "sessions list " + strings.Repeat("'", sshd.MaxCommand), refused: true},
		{name: "one byte over", cmd: "kill " + strings.Repeat("b", sshd.MaxCommand-4), refused: true},
		{name: "at the bound", cmd: "kill " + strings.Repeat("b", sshd.MaxCommand-5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := sshtest.Run(t, c, tt.cmd)
			told := strings.Contains(stderr, fmt.Sprintf("command too long: %d bytes, at most %d", len(tt.cmd), sshd.MaxCommand))
			if told != tt.refused || code != 1 {
				t.Errorf("exit %d, stderr %.100q; want exit 1, refused for length: %v", code, stderr, tt.refused)
			}
		})
	}
}

// BenchmarkLongCommand is the server's answer to a 240 KB command line
// (one word): before the bound, go-shlex spent 9.8 s of CPU on it.
func BenchmarkLongCommand(b *testing.B) {
	s := startServer(b, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(b)))
	cmd := strings.Repeat("a", 240<<10)
	for b.Loop() {
		sess, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		err = sess.Run(cmd)
		sess.Close()
		var ee *gossh.ExitError
		if !asExit(err, &ee) || ee.ExitStatus() != 1 {
			b.Fatalf("run: %v, want exit status 1", err)
		}
	}
}

// TestHugeWindowIsBounded: clients asking for a 65535×65535 pty get a
// screen of at most sessions.MaxCells cells, drawn whole (the status bar
// on its last row), and each costs a few MiB of heap, not the 112 MiB of
// a 1000×1000 cell buffer; their memory is returned when they leave.
func TestHugeWindowIsBounded(t *testing.T) {
	s := startServer(t, true)
	want := sessions.ClampSize(sessions.Size{Width: 65535, Height: 65535}, sessions.Size{})
	if want.Width*want.Height > sessions.MaxCells {
		t.Fatalf("ClampSize gives %dx%d, over %d cells", want.Width, want.Height, sessions.MaxCells)
	}
	// One client is watched on a screen of the size the server should
	// draw; the measured ones only look for their status bar in the bytes,
	// so that the test's own screens are not in the heap it measures.
	tm := hugeShell(t, s.mustDial("watched", gossh.PublicKeys(sshtest.Signer(t))), testterm.New(want.Width, want.Height))
	tm.scr.WaitUntil(t, "the status bar on the last row", wait, func(string) bool {
		return strings.Contains(tm.scr.Line(want.Height-1), " watched · 1")
	})

	const n = 4
	before := heap()
	var conns []*gossh.Session
	for i := range n {
		user := fmt.Sprintf("user%d", i)
		out := &sink{want: []byte(" " + user + " · 1"), seen: make(chan struct{})}
		conns = append(conns, hugeShell(t, s.mustDial(user, gossh.PublicKeys(sshtest.Signer(t))), out).sess)
		select {
		case <-out.seen:
		case <-time.After(wait):
			t.Fatalf("%s: no status bar in the output", user)
		}
	}
	per := (int64(heap()) - int64(before)) / n
	t.Logf("heap per %dx%d client: %d KiB", want.Width, want.Height, per>>10)
	if per > 8<<20 {
		t.Errorf("heap grew %d KiB per client, want ≤ 8 MiB", per>>10)
	}
	infos, err := s.mgr.List(context.Background(), "user0", "")
	if err != nil || len(infos) != 1 || len(infos[0].Clients) != 1 {
		t.Fatalf("List(user0) = %+v, %v", infos, err)
	}
	if cl := infos[0].Clients[0]; cl.Width != want.Width || cl.Height != want.Height {
		t.Errorf("client listed at %dx%d, want %dx%d", cl.Width, cl.Height, want.Width, want.Height)
	}

	for _, sess := range conns {
		sess.Close()
	}
	waitDetached(t, s, n)
	// The last goroutines of a leaving client end just after it is gone
	// from the session: poll until its memory is back, within the bound.
	deadline := time.Now().Add(wait)
	for {
		left := (int64(heap()) - int64(before)) / n
		if left <= 1<<20 {
			t.Logf("heap per detached session: %d KiB", left>>10)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the clients left, %d KiB per session stayed, want ≤ 1 MiB", left>>10)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hugeShell opens a 65535×65535 pty and writes what arrives to out.
func hugeShell(t *testing.T, c *gossh.Client, out io.Writer) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 65535, 65535, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatalf("pty: %v", err)
	}
	tm := &term{t: t, sess: sess, exit: make(chan error, 1), errOut: &testterm.Buffer{}}
	if scr, ok := out.(*testterm.Screen); ok {
		tm.scr = scr
		t.Cleanup(func() { scr.Close() })
	}
	if tm.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = out, tm.errOut
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { tm.exit <- sess.Wait() }()
	t.Cleanup(func() { sess.Close() })
	return tm
}

// sink discards output, watching it for want (across writes).
type sink struct {
	want []byte
	seen chan struct{}
	tail []byte
}

func (s *sink) Write(p []byte) (int, error) {
	if s.want == nil {
		return len(p), nil
	}
	buf := append(s.tail, p...)
	if bytes.Contains(buf, s.want) {
		s.want, s.tail = nil, nil
		close(s.seen)
		return len(p), nil
	}
	s.tail = append(s.tail[:0], buf[max(len(buf)-len(s.want)+1, 0):]...)
	return len(p), nil
}

// waitDetached waits until n user sessions have no client.
func waitDetached(t *testing.T, s *server, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		detached := 0
		for i := range n {
			infos, _ := s.mgr.List(context.Background(), fmt.Sprintf("user%d", i), "")
			if len(infos) == 1 && len(infos[0].Clients) == 0 {
				detached++
			}
		}
		if detached == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions detached after %v", detached, n, wait)
		}
		time.Sleep(5 * time.Millisecond) // polling the manager: nothing to await
	}
}

// heap is the live heap after two collections (the second frees what the
// first only swept, such as sync.Pool's victim cache).
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
