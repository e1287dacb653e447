package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"termhost/bench/abuse"
)

// options are the run's settings.
type options struct {
	bin          string
	keep         bool
	guessWindow  time.Duration
	pasteTimeout time.Duration
	pasteSizes   string
	pasteLine    int
	logFile      string // append every server's log here
}

// server is one `termhost serve` on 127.0.0.1 with SSH and telnet.
type server struct {
	bin, dir    string
	ssh, telnet string
	cmd         *exec.Cmd
	done        chan struct{}
	log         *capped
}

// startServer starts the server on a fresh data dir with settings given
// as TERMHOST_* environment (KEY=VALUE: a build that lacks a key ignores
// it, so one tool measures the builds before and after issue 8) and waits
// for "ready". The web and metrics listeners are off.
func startServer(ctx context.Context, o options, env ...string) (*server, error) {
	dir, err := os.MkdirTemp("", "hostile-data")
	if err != nil {
		return nil, err
	}
	s := &server{bin: o.bin, dir: dir, done: make(chan struct{}), log: &capped{}}
	s.cmd = exec.Command(o.bin, "serve", "--data-dir", dir, "--ssh-addr", "127.0.0.1:0", "--telnet-addr", "127.0.0.1:0")
	s.cmd.Env = append(os.Environ(), "TERMHOST_HTTP_ADDR=", "TERMHOST_METRICS_ADDR=")
	for _, kv := range env {
		s.cmd.Env = append(s.cmd.Env, "TERMHOST_"+kv)
	}
	s.cmd.Stderr = s.log
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "ssh listening on "); ok {
				s.ssh = a
			}
			if a, ok := strings.CutPrefix(line, "telnet listening on "); ok {
				s.telnet, _, _ = strings.Cut(a, " ")
			}
			if line == "ready" {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
		return s, nil
	case <-s.done:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("termhost serve exited: %s", s.log.String())
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	s.stop(o)
	return nil, errors.New("termhost serve not ready within 30 s")
}

// stop ends the server with SIGTERM (kill -9 after 10 s) and removes its
// data unless keep.
func (s *server) stop(o options) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if o.logFile != "" {
		if f, err := os.OpenFile(o.logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "=== server %s (last 64 KiB of its log)\n%s", s.dir, s.log.String())
			f.Close()
		}
	}
	if !o.keep {
		os.RemoveAll(s.dir)
	}
}

// target adds the accounts and describes the server for package abuse.
func (s *server) target(ctx context.Context) (abuse.Target, error) {
	t := abuse.Target{SSH: s.ssh, Telnet: s.telnet, PID: s.cmd.Process.Pid}
	var err error
	// An admin first, so that no attacker signup becomes the first admin.
	admin, err := abuse.NewAccount("operator", "")
	if err != nil {
		return t, err
	}
	if t.Legit, err = abuse.NewAccount("legit", "legit-password"); err != nil {
		return t, err
	}
	if t.Victim, err = abuse.NewAccount("victim", "correct horse battery staple"); err != nil {
		return t, err
	}
	for i := range 4 {
		a, err := abuse.NewAccount(fmt.Sprintf("mallory%d", i+1), "mallory-password")
		if err != nil {
			return t, err
		}
		t.Attackers = append(t.Attackers, a)
	}
	if err := addAdmin(ctx, s.bin, s.dir, admin); err != nil {
		return t, err
	}
	if err := abuse.AddUsers(ctx, s.bin, s.dir, append([]abuse.Account{t.Legit, t.Victim}, t.Attackers...)...); err != nil {
		return t, err
	}
	t.Sessions = func(ctx context.Context) ([]byte, error) {
		return exec.CommandContext(ctx, s.bin, "sessions", "list", "--json", "--data-dir", s.dir).Output()
	}
	return t, nil
}

func addAdmin(ctx context.Context, bin, dir string, a abuse.Account) error {
	out, err := exec.CommandContext(ctx, bin, "user", "add", a.Name, "--admin", "--key", a.AuthorizedKey(), "--data-dir", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("user add %s --admin: %w: %s", a.Name, err, out)
	}
	return nil
}

// capped is a log buffer that keeps the last 64 KiB.
type capped struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.b.Len() > 64<<10 {
		tail := bytes.Clone(c.b.Bytes()[c.b.Len()-32<<10:])
		c.b.Reset()
		c.b.Write(tail)
	}
	return c.b.Write(p)
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}
