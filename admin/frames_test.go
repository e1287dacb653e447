package admin_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"termhost/admin"
)

// frame is one frame of a streamed admin answer (kind, 4-byte big-endian
// length, payload).
func frame(kind byte, payload string) string {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	return string(hdr[:]) + payload
}

// The server answers a streamed request with frames, not one JSON object
// holding the whole output as a string (issue 10: 100,000 sessions are
// ≈ 40 MB that were escaped, held and decoded again).
func TestSocketStreamsFrames(t *testing.T) {
	path := listen(t, newWorld(t))
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, `{"args":["sessions","list","--json","--user","bob"],"stream":true}`+"\n")
	r := bufio.NewReader(c)
	var stdout bytes.Buffer
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("answer ended without an exit frame: %v (stdout so far %q)", err, stdout.String())
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatal(err)
		}
		if hdr[0] == 'x' {
			if string(payload) != "0" {
				t.Errorf("exit frame %q, want 0", payload)
			}
			break
		}
		if hdr[0] != 'o' {
			t.Fatalf("frame kind %q (payload %q), want stdout frames then the exit", hdr[0], payload)
		}
		stdout.Write(payload)
	}
	var list []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(list) != 1 || list[0]["user"] != "bob" {
		t.Errorf("streamed list = %v (%v)\n%s", list, err, stdout.String())
	}
}

// Call reads both a streamed answer and the one JSON object of a server
// from before frames, and refuses a broken stream.
func TestCallAnswers(t *testing.T) {
	tests := []struct {
		name                string
		answer              string
		wantCode            int
		wantOut, wantErrOut string
		wantErr             string
	}{
		{name: "legacy object", answer: `{"stdout":"a \"b\"\n","stderr":"warn\n","code":3}` + "\n", wantCode: 3, wantOut: "a \"b\"\n", wantErrOut: "warn\n"},
		{name: "frames", answer: frame('o', "one ") + frame('e', "oops\n") + frame('o', "two\n") + frame('x', "1"), wantCode: 1, wantOut: "one two\n", wantErrOut: "oops\n"},
		{name: "empty output", answer: frame('x', "0"), wantCode: 0},
		{name: "cut short", answer: frame('o', "partial")[:8], wantOut: "par", wantErr: "answer cut short"},
		{name: "no exit frame", answer: frame('o', "all\n"), wantOut: "all\n", wantErr: "unexpected EOF"},
		{name: "oversized frame", answer: "o\xff\xff\xff\xff", wantErr: "malformed admin answer frame"},
		{name: "unknown kind", answer: frame('?', "x"), wantErr: "malformed admin answer frame"},
		{name: "bad exit status", answer: frame('x', "zero"), wantErr: "malformed admin answer frame"},
		{name: "exit status past 255", answer: frame('x', "256"), wantErr: "malformed admin answer frame"},
		{name: "negative exit status", answer: frame('x', "-1"), wantErr: "malformed admin answer frame"},
		{name: "nothing", answer: "", wantErr: "answer cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fake.sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					served <- ""
					return
				}
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, tt.answer)
				served <- line
			}()
			var out, errOut bytes.Buffer
			code, err := admin.Call(path, []string{"sessions", "list"}, &out, &errOut)
			if req := <-served; !strings.Contains(req, `"stream":true`) {
				t.Errorf("request %q does not ask for a stream", req)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Call = %d, %v; want an error with %q", code, err, tt.wantErr)
				}
			} else if err != nil || code != tt.wantCode {
				t.Errorf("Call = %d, %v; want %d", code, err, tt.wantCode)
			}
			if out.String() != tt.wantOut || errOut.String() != tt.wantErrOut {
				t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errOut.String(), tt.wantOut, tt.wantErrOut)
			}
		})
	}
}
