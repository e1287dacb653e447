package web_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"termhost/admission"
	"termhost/persist"
	"termhost/web"
)

// TestProxySilentPeerStallsNoOne: with proxy_protocol on, a trusted peer's
// connection that never sends its PROXY header costs that connection only.
// conn_rate read the connection's address in ConnContext, inside net/http's
// accept loop, where the address waits for the header: one silent
// connection from the balancer held every accept for 30 s (re-attack
// trial). The next connection, header and all, is answered at once.
func TestProxySilentPeerStallsNoOne(t *testing.T) {
	e := newEnv(t)
	trust, err := admission.ParseTrust([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	trust.HeaderTimeout = 20 * time.Second
	srv, err := web.Listen(web.Config{Addr: "127.0.0.1:0", Store: e.store, Manager: e.mgr, Proxy: trust,
		ConnRate: admission.NewConnRate(100, 100, time.Now),
		Login: func(context.Context, string, string, net.Addr, func(context.Context) error) (persist.User, error) {
			return persist.User{}, persist.ErrNotFound
		}, Log: slog.New(slog.NewTextHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })

	silent, err := net.Dial("tcp", srv.Addr().String()) // the balancer, saying nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(200 * time.Millisecond) // accepted, waiting for its header

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(5 * time.Second)) // the stall was the header timeout, 20 s here
	if _, err := c.Write([]byte("PROXY TCP4 192.0.2.7 127.0.0.1 40000 8080\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the second connection got no answer in %v while the first said nothing: %v", time.Since(start), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / through the PROXY header: %d", resp.StatusCode)
	}
}
