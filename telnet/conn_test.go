package telnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// startBytes is what Accept sends first.
var startBytes = unhex("ff fb 01 ff fb 03 ff fd 1f ff fd 18 ff fd 27")

// client is a scripted telnet client on a real loopback socket.
type client struct {
	t   *testing.T
	nc  net.Conn
	got []byte // received and not yet matched
}

// expect reads until want has arrived and drops everything up to its end.
func (c *client) expect(want []byte) {
	c.t.Helper()
	buf := make([]byte, 4096)
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.Contains(c.got, want) {
		n, err := c.nc.Read(buf)
		c.got = append(c.got, buf[:n]...)
		if err != nil {
			c.t.Fatalf("waiting for % x, got % x: %v", want, c.got, err)
		}
	}
	c.got = c.got[bytes.Index(c.got, want)+len(want):]
}

func (c *client) send(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

type accepted struct {
	conn    *Conn
	err     error
	elapsed time.Duration
}

// dial starts Accept on a loopback listener and connects a client to it.
func dial(t *testing.T, ctx context.Context, opts Options) (*client, <-chan accepted) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- accepted{err: err}
			return
		}
		start := time.Now()
		c, err := Accept(ctx, nc, opts)
		if err != nil {
			nc.Close()
		} else {
			t.Cleanup(func() { c.Close() })
		}
		done <- accepted{c, err, time.Since(start)}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc}, done
}

// wait returns Accept's result.
func wait(t *testing.T, done <-chan accepted) accepted {
	t.Helper()
	select {
	case a := <-done:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return")
		return accepted{}
	}
}

// readN reads exactly n bytes of user data from c.
func readN(t *testing.T, c *Conn, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return buf
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration
		script   func(c *client)
		wantW    int
		wantH    int
		wantTerm string
		wantData string
		slow     bool // Accept must have waited for the timeout
	}{
		{
			name: "inetutils", timeout: 5 * time.Second,
			script: func(c *client) {
				c.expect(startBytes)
				c.send(cat(inetutilsHello, unhex("ff fc 27")))
				c.expect(ttypeSend)
				c.send(inetutilsTType)
				c.expect(ttypeSend)
				c.send(inetutilsTType)
			},
			wantW: 100, wantH: 30, wantTerm: "xterm-256color",
		},
		{
			name: "input typed during negotiation", timeout: 5 * time.Second,
			script: func(c *client) {
				c.expect(startBytes)
				c.send(cat([]byte("ab\r"), inetutilsHello, []byte("\x00cd"), unhex("ff fc 27")))
				c.expect(ttypeSend)
				c.send(cat([]byte("e"), inetutilsTType))
				c.expect(ttypeSend)
				c.send(cat(inetutilsTType, []byte("f")))
			},
			wantW: 100, wantH: 30, wantTerm: "xterm-256color", wantData: "ab\rcdef",
		},
		{
			name: "busybox refuses TTYPE and NEW-ENVIRON", timeout: 5 * time.Second,
			script: func(c *client) {
				c.expect(startBytes)
				c.send(unhex("ff fe 03 ff fb 1f ff fa 1f 00 ff 00 1e ff f0 ff fc 18 ff fc 27"))
			},
			wantW: 255, wantH: 30,
		},
		{
			name: "silent client gets defaults", timeout: 100 * time.Millisecond,
			script: func(c *client) { c.expect(startBytes) },
			wantW:  80, wantH: 24, slow: true,
		},
		{
			name: "silent client's early input kept", timeout: 100 * time.Millisecond,
			script: func(c *client) { c.send([]byte("hi")) },
			wantW:  80, wantH: 24, wantData: "hi", slow: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, done := dial(t, context.Background(), Options{NegotiationTimeout: tt.timeout})
			tt.script(cl)
			a := wait(t, done)
			if a.err != nil {
				t.Fatalf("Accept: %v", a.err)
			}
			if w, h := a.conn.Size(); w != tt.wantW || h != tt.wantH {
				t.Errorf("Size() = %dx%d, want %dx%d", w, h, tt.wantW, tt.wantH)
			}
			if got := a.conn.Term(); got != tt.wantTerm {
				t.Errorf("Term() = %q, want %q", got, tt.wantTerm)
			}
			if tt.slow != (a.elapsed >= tt.timeout) {
				t.Errorf("Accept took %v with timeout %v; want waited=%v", a.elapsed, tt.timeout, tt.slow)
			}
			if tt.wantData != "" {
				if got := readN(t, a.conn, len(tt.wantData)); string(got) != tt.wantData {
					t.Errorf("Read = %q, want %q", got, tt.wantData)
				}
			}
		})
	}
}

func TestAcceptErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		script func(c *client)
		want   error
	}{
		{"context canceled", canceled, func(c *client) {}, context.Canceled},
		{"client hangs up", context.Background(), func(c *client) { c.expect(startBytes); c.nc.Close() }, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, done := dial(t, tt.ctx, Options{NegotiationTimeout: 5 * time.Second})
			tt.script(cl)
			a := wait(t, done)
			if !errors.Is(a.err, ErrHandshake) || !errors.Is(a.err, tt.want) {
				t.Errorf("Accept error %v, want ErrHandshake and %v", a.err, tt.want)
			}
		})
	}
}

// open returns an accepted connection whose client refused everything.
func open(t *testing.T) (*client, *Conn) {
	t.Helper()
	cl, done := dial(t, context.Background(), Options{NegotiationTimeout: 5 * time.Second})
	cl.expect(startBytes)
	cl.send(unhex("ff fd 01 ff fd 03 ff fc 1f ff fc 18 ff fc 27"))
	a := wait(t, done)
	if a.err != nil {
		t.Fatalf("Accept: %v", a.err)
	}
	return cl, a.conn
}

// reader runs Read in the background, as the session layer does.
func reader(t *testing.T, c *Conn) <-chan []byte {
	out := make(chan []byte, 100)
	go func() {
		defer close(out)
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				out <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func TestResizes(t *testing.T) {
	cl, c := open(t)
	data := reader(t, c)
	cl.send(cat(unhex("ff fb 1f"), nawsSB(120, 40)))
	cl.expect(unhex("ff fd 1f")) // the reply came from inside Read
	select {
	case ws := <-c.Resizes():
		if ws != (WindowSize{120, 40}) {
			t.Errorf("resize %v, want 120x40", ws)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no resize")
	}
	// Unread sizes do not block Read: the newest one wins.
	cl.send(cat(nawsSB(90, 20), nawsSB(91, 21), nawsSB(92, 22), []byte("x")))
	if got := <-data; string(got) != "x" {
		t.Fatalf("Read = %q, want \"x\"", got)
	}
	if ws := <-c.Resizes(); ws != (WindowSize{92, 22}) {
		t.Errorf("resize %v, want the newest 92x22", ws)
	}
	if w, h := c.Size(); w != 92 || h != 22 {
		t.Errorf("Size() = %dx%d, want 92x22", w, h)
	}
}

func TestWriteEscapes(t *testing.T) {
	cl, c := open(t)
	if _, err := c.Write([]byte("a\xffb\rc\r\n")); err != nil {
		t.Fatal(err)
	}
	cl.expect(unhex("61 ff ff 62 0d 00 63 0d 0a"))
	if len(cl.got) != 0 {
		t.Errorf("extra bytes % x", cl.got)
	}
}

func TestRepliesWhileReading(t *testing.T) {
	cl, c := open(t)
	data := reader(t, c)
	cl.send(unhex("ff fd 06 7a ff fb 22"))
	cl.expect(unhex("ff fc 06 ff fe 22"))
	if got := <-data; string(got) != "z" {
		t.Errorf("Read = %q, want \"z\"", got)
	}
}

func TestSetEcho(t *testing.T) {
	cl, c := open(t)
	c.SetEcho(true)
	cl.send([]byte("ab\x7f\r\x00"))
	if got := readN(t, c, 4); string(got) != "ab\x7f\r" {
		t.Fatalf("Read = %q", got)
	}
	cl.expect([]byte("ab\b \b\r\n"))
	c.SetEcho(false)
	cl.send([]byte("pw\r"))
	readN(t, c, 3)
	c.Write([]byte("!"))
	cl.expect([]byte("!"))
	if len(cl.got) != 0 {
		t.Errorf("echo with SetEcho(false): % x", cl.got)
	}
}

// TestConcurrentReadWrite runs Write against Read while the client flips
// BINARY, for the race detector.
func TestConcurrentReadWrite(t *testing.T) {
	cl, c := open(t)
	data := reader(t, c)
	drained := make(chan struct{})
	go func() { // the client keeps reading until the server closes
		defer close(drained)
		io.Copy(io.Discard, cl.nc)
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 200 {
			if _, err := c.Write([]byte("frame\r\n")); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 50 {
		cl.send(unhex("ff fd 00 61 ff fe 00"))
	}
	for n := 0; n < 50; {
		n += len(<-data)
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	<-drained
	if _, ok := <-data; ok {
		t.Error("Read returned data after Close")
	}
}
