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

// request and response are the socket's wire format: one JSON object each
// way. A request with Stream set is answered with frames instead of a
// response (see frameWriter): the output goes out as the verb writes it,
// neither held whole in memory nor escaped into a JSON string (a listing
// of 100,000 sessions is ≈ 40 MB; escaping and decoding it again was half
// of `sessions list --json`'s time, issue 10).
type request struct {
	Args   []string `json:"args"`
	Stream bool     `json:"stream,omitempty"`
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
	} else if req.Stream {
		// The verb has a minute as before; its output then may take as long
		// as the reader needs (a pager, a slow pipe), a minute per write.
		fw := newFrameWriter(idleConn{Conn: c, idle: time.Minute})
		code := s.runner.Local(context.Background(), req.Args, fw.stream(frameStdout), fw.stream(frameStderr))
		fw.end(code)
		return
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
	if err := json.NewEncoder(c).Encode(request{Args: args, Stream: true}); err != nil {
		return 1, err
	}
	// From here on the limit is a minute without data, not for the whole
	// answer: a listing of 100,000 sessions piped into a pager or a slow
	// pipe takes as long as its reader (attack trial: cut at one minute).
	br := bufio.NewReaderSize(idleConn{Conn: c, idle: callTimeout}, frameMax)
	// A server from before frames answers with one response object.
	if first, err := br.Peek(1); err == nil && first[0] == '{' {
		var resp response
		if err := json.NewDecoder(br).Decode(&resp); err != nil {
			return 1, fmt.Errorf("admin socket %s: no answer within %s: %w", path, callTimeout, err)
		}
		io.WriteString(stdout, resp.Stdout)
		io.WriteString(stderr, resp.Stderr)
		return resp.Code, nil
	}
	code, err := readFrames(br, stdout, stderr)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 1, fmt.Errorf("admin socket %s: answer cut short: no data for %s: %w", path, callTimeout, err)
	case err != nil:
		return 1, fmt.Errorf("admin socket %s: answer cut short: %w", path, err)
	}
	return code, nil
}

// idleConn moves the connection's deadline before each read and write, so
// idle bounds a pause, not the whole exchange.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}
