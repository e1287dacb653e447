package admin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/admin"
)

func listen(t *testing.T, w *world) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	sock, err := admin.ListenSocket(path, w.runner, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	return path
}

func TestSocketModeAndRoundTrip(t *testing.T) {
	w := newWorld(t)
	path := listen(t, w)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", fi.Mode())
	}

	var out, errOut bytes.Buffer
	code, err := admin.Call(path, []string{"sessions", "list", "--json", "--user", "bob"}, &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("Call = %d, %v; stderr %s", code, err, errOut.String())
	}
	var list []map[string]any
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0]["user"] != "bob" {
		t.Errorf("list over the socket = %v (%v)\n%s", list, err, out.String())
	}

	out.Reset()
	errOut.Reset()
	code, err = admin.Call(path, []string{"sessions", "kill", "nothing-like-it"}, &out, &errOut)
	if err != nil || code != 1 || !strings.Contains(errOut.String(), "no such session") {
		t.Errorf("failing verb over the socket: code %d, err %v, stderr %q", code, err, errOut.String())
	}

	out.Reset()
	if code, err := admin.Call(path, []string{"sessions", "detach", w.alice}, &out, &errOut); err != nil || code != 0 {
		t.Fatalf("detach over the socket: %d, %v", code, err)
	}
	if log := w.audit(t); len(log) == 0 || log[0].Actor != "operator" || log[0].Action != "detach" {
		t.Errorf("socket actions are audited as the operator; got %+v", log)
	}
}

func TestSocketBadRequest(t *testing.T) {
	tests := []struct {
		name, send string
	}{
		{name: "not json", send: "hello\n"},
		{name: "wrong shape", send: `{"args": "sessions list"}` + "\n"},
		{name: "no newline before close", send: `{"args":["sessions","list"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := listen(t, newWorld(t))
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			io.WriteString(c, tt.send)
			c.(*net.UnixConn).CloseWrite()
			var resp struct {
				Stderr string `json:"stderr"`
				Code   int    `json:"code"`
			}
			line, err := bufio.NewReader(c).ReadBytes('\n')
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if err := json.Unmarshal(line, &resp); err != nil {
				t.Fatalf("answer is not JSON: %q", line)
			}
			if resp.Code != 2 || !strings.HasPrefix(resp.Stderr, "bad request: ") {
				t.Errorf("answer = %+v, want code 2 and a bad request message", resp)
			}
		})
	}
}

func TestSocketLifecycle(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.sock")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// A stale file from a crashed server is replaced.
	if err := os.WriteFile(path, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, err := admin.ListenSocket(path, w.runner, log)
	if err != nil {
		t.Fatalf("over a stale file: %v", err)
	}
	if _, err := admin.ListenSocket(path, w.runner, log); err == nil || !strings.Contains(err.Error(), "another server is running") {
		t.Errorf("second server on one socket: %v, want refused", err)
	}
	if err := sock.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Call(path, []string{"sessions", "list"}, io.Discard, io.Discard); !errors.Is(err, admin.ErrNoServer) {
		t.Errorf("Call after Close = %v, want ErrNoServer", err)
	}
	if _, err := admin.Call(filepath.Join(dir, "missing.sock"), nil, io.Discard, io.Discard); !errors.Is(err, admin.ErrNoServer) {
		t.Errorf("Call without a server = %v, want ErrNoServer", err)
	}
}
