package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"termhost/admission"
)

// ErrNoServer means no server answers on the admin socket.
var ErrNoServer = errors.New("no running termhost server (admin socket not reachable)")

// request and response are the socket's wire format: one JSON object each way.
type request struct {
	Args []string `json:"args"`
}

type response struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

// maxRequest bounds what one client may send.
const maxRequest = 64 << 10

// Socket serves a Runner on a unix socket with mode 0600: whoever can open
// it is the operator.
type Socket struct {
	ln     net.Listener
	runner *Runner
	log    *slog.Logger
	wg     sync.WaitGroup
}

// ListenSocket creates the socket at path, replacing a stale one.
func ListenSocket(path string, r *Runner, log *slog.Logger) (*Socket, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s: another server is running", path)
	}
	_ = os.Remove(path)
	old := syscallUmask(0o177)
	ln, err := net.Listen("unix", path)
	syscallUmask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Socket{ln: ln, runner: r, log: log}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops the socket and waits for running requests.
func (s *Socket) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Socket) serve() {
	defer s.wg.Done()
	var backoff admission.AcceptBackoff
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if backoff.Wait(err, s.log, "admin socket") {
				continue
			}
			return
		}
		backoff.Reset()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *Socket) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	var req request
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	var resp response
	if err != nil {
		resp = response{Stderr: "bad request: " + err.Error() + "\n", Code: 2}
	} else {
		var out, errOut bytes.Buffer
		resp.Code = s.runner.Local(context.Background(), req.Args, &out, &errOut)
		resp.Stdout, resp.Stderr = out.String(), errOut.String()
	}
	_ = json.NewEncoder(c).Encode(resp)
}

// callTimeout bounds one admin command over the socket: the slowest verbs
// (kill or detach of a session on another node) wait up to 5 s for it.
const callTimeout = time.Minute

// Call sends args to the server at path and copies its output; it returns
// the exit status.
func Call(path string, args []string, stdout, stderr io.Writer) (int, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return 1, fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	defer c.Close()
	// A server that accepted nothing (its accept loop backing off, a full
	// backlog) must not leave the operator's command hanging.
	_ = c.SetDeadline(time.Now().Add(callTimeout))
	if err := json.NewEncoder(c).Encode(request{Args: args}); err != nil {
		return 1, err
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return 1, fmt.Errorf("admin socket %s: no answer within %s: %w", path, callTimeout, err)
	}
	io.WriteString(stdout, resp.Stdout)
	io.WriteString(stderr, resp.Stderr)
	return resp.Code, nil
}
