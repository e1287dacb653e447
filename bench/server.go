package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerOptions starts one `termhost serve` process.
type ServerOptions struct {
	Bin     string   // the termhost binary
	DataDir string   // fresh or reused data directory
	Args    []string // extra serve flags (policy)
	Env     []string // extra environment, KEY=VALUE
	// Stderr receives the server's log as well as keeping it in memory.
	Stderr io.Writer
}

// Server is a running `termhost serve` on 127.0.0.1.
type Server struct {
	opts ServerOptions
	Addr string
	PID  int

	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

// StartServer runs termhost serve with a loopback SSH listener on a free
// port, no telnet, and waits until it prints "ready".
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	s := &Server{opts: opts}
	return s, s.start(ctx)
}

func (s *Server) start(ctx context.Context) error {
	args := append([]string{"serve", "--data-dir", s.opts.DataDir, "--ssh-addr", "127.0.0.1:0", "--telnet-addr", "", "--http-addr", "", "--metrics-addr", ""}, s.opts.Args...)
	cmd := exec.Command(s.opts.Bin, args...)
	cmd.Env = append(os.Environ(), s.opts.Env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.log = &lockedBuffer{}
	var stderr io.Writer = s.log
	if s.opts.Stderr != nil {
		stderr = io.MultiWriter(s.log, s.opts.Stderr)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.opts.Bin, err)
	}
	s.cmd, s.PID, s.done = cmd, cmd.Process.Pid, make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		addr := ""
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "ssh listening on "); ok {
				addr = a
			}
			if line == "ready" {
				ready <- addr
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case s.Addr = <-ready:
		if s.Addr == "" {
			s.Kill()
			return errors.New("termhost serve said ready without an ssh address")
		}
		return nil
	case <-s.done:
		return fmt.Errorf("termhost serve exited early: %s", s.log.String())
	case <-time.After(30 * time.Second):
		s.Kill()
		return fmt.Errorf("termhost serve not ready after 30 s: %s", s.log.String())
	case <-ctx.Done():
		s.Kill()
		return ctx.Err()
	}
}

// Log is everything the server wrote to stderr.
func (s *Server) Log() string { return s.log.String() }

// Stop sends SIGTERM (the graceful shutdown) and waits up to 30 s, then
// kills.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		s.Kill()
		return errors.New("termhost serve did not stop within 30 s of SIGTERM; killed")
	}
}

// Kill is kill -9, then waits for the process to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again on the same data dir (a new port).
func (s *Server) Restart(ctx context.Context) error {
	select {
	case <-s.done:
	default:
		return errors.New("restart: server still running")
	}
	return s.start(ctx)
}

// SessionInfo is the part of `sessions list --json` the tool reads.
type SessionInfo struct {
	ID    string `json:"id"`
	User  string `json:"user"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// Sessions lists every session through the admin socket.
func (s *Server) Sessions(ctx context.Context) ([]SessionInfo, error) {
	cmd := exec.CommandContext(ctx, s.opts.Bin, "sessions", "list", "--json", "--data-dir", s.opts.DataDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("sessions list: %w: %s", err, stderr.String())
	}
	var list []SessionInfo
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("sessions list: %w", err)
	}
	return list, nil
}

// CountStates counts sessions by state among users with the prefix.
func CountStates(list []SessionInfo, userPrefix string) map[string]int {
	out := map[string]int{}
	for _, si := range list {
		if strings.HasPrefix(si.User, userPrefix) {
			out[si.State]++
		}
	}
	return out
}

// ModuleRoot finds the termhost module's root from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module termhost")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the termhost module (no go.mod with `module termhost` above the working directory)")
		}
		dir = parent
	}
}

// BuildServer builds termhost into dir and returns the binary's path.
func BuildServer(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "termhost")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build termhost: %w\n%s", err, out)
	}
	return bin, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keep the log bounded: a long load run must not grow it forever.
	if l.b.Len() > 8<<20 {
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
