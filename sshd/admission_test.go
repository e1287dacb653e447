package sshd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	gossh "golang.org/x/crypto/ssh"

	"termhost/admission"
	"termhost/auth"
	"termhost/internal/sshtest"
	"termhost/persist"
)

// rawFrom opens a TCP connection to the server from local address ip (any
// 127/8 address is this host on Linux), so tests can be several sources.
func (s *server) rawFrom(ip string) net.Conn {
	s.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: wait}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("dial from %s: %v", ip, err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// sshOver runs the SSH client handshake on c (after anything the test
// wrote first, such as a PROXY header).
func (s *server) sshOver(c net.Conn, user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	c.SetDeadline(time.Now().Add(wait))
	cc, chans, reqs, err := gossh.NewClientConn(c, s.addr, &gossh.ClientConfig{
		User: user, Auth: methods, HostKeyCallback: gossh.FixedHostKey(s.hostKey), Timeout: wait,
	})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	client := gossh.NewClient(cc, chans, reqs)
	s.t.Cleanup(func() { client.Close() })
	return client, nil
}

func (s *server) dialFrom(ip, user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	return s.sshOver(s.rawFrom(ip), user, methods...)
}

// banner reads the server's first bytes: its SSH version line, or EOF when
// the connection was refused before the handshake.
func banner(c net.Conn) (string, error) {
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, 4)
	return string(buf[:n]), err
}

// Item 4: silent connections from one address fill that address's cap,
// not the node's: another address still logs in.
func TestPerSourceUnauthenticatedCap(t *testing.T) {
	const perSource = 3
	s := startServerWith(t, options{signup: true, gate: admission.Config{MaxUnauth: 16, MaxUnauthPerSource: perSource}})
	for i := range perSource {
		if b, err := banner(s.rawFrom("127.0.0.2")); err != nil || !strings.HasPrefix(b, "SSH-2.0-") {
			t.Fatalf("silent connection %d from 127.0.0.2: %q, %v; want admitted", i, b, err)
		}
	}
	if b, err := banner(s.rawFrom("127.0.0.2")); err == nil {
		t.Errorf("connection %d from 127.0.0.2 got %q; want it refused", perSource+1, b)
	}
	c, err := s.dialFrom("127.0.0.3", "alice", gossh.PublicKeys(sshtest.Signer(t)))
	if err != nil {
		t.Fatalf("a client from 127.0.0.3 could not log in: %v", err)
	}
	shell(t, c, 80, 24, "").waitFor(" alice · 1")
}

// login_grace is absolute on SSH too: a silent or trickling client is cut
// off at the grace; a client that logs in stays.
func TestSSHLoginGrace(t *testing.T) {
	const grace = 400 * time.Millisecond
	s := startServerWith(t, options{signup: true, gate: admission.Config{Grace: grace}})
	tests := []struct {
		name    string
		trickle bool
	}{
		{name: "silent"},
		{name: "one byte every 100ms", trickle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.rawFrom("127.0.0.2")
			start := time.Now()
			if tt.trickle {
				go func() {
					for _, b := range []byte("SSH-2.0-slow-client-that-never-finishes") {
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
			}
			c.SetReadDeadline(time.Now().Add(wait))
			_, err := io.Copy(io.Discard, c)
			took := time.Since(start)
			// A client still sending when the server closes may get a reset.
			if (err != nil && !errors.Is(err, syscall.ECONNRESET)) || took < grace-50*time.Millisecond || took > grace+2*time.Second {
				t.Errorf("closed after %v (%v), want ≈%v", took, err, grace)
			}
		})
	}
	c, err := s.dialFrom("127.0.0.3", "alice", gossh.PublicKeys(sshtest.Signer(t)))
	if err != nil {
		t.Fatal(err)
	}
	tm := shell(t, c, 80, 24, "")
	tm.waitFor(" alice · 1")
	time.Sleep(grace + 100*time.Millisecond) // outlive the grace on purpose
	tm.send("still here")
	tm.waitFor("still here")
}

// Item 5 over SSH: parallel password guesses from one address are answered
// one at a time, each after the doubled delay of all earlier failures.
func TestSSHParallelGuessesAreSerialised(t *testing.T) {
	const n, base = 5, 40 * time.Millisecond
	limiter := auth.NewLimiter(time.Now)
	limiter.BaseDelay = base
	s := startServerWith(t, options{gate: admission.Config{MaxUnauth: 32}, sources: limiter})
	// One account per guess, so only the source's rules apply.
	for i := range n {
		s.addUser(fmt.Sprintf("carol%d", i), persist.RoleUser, "right")
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.dialFrom("127.0.0.2", fmt.Sprintf("carol%d", i), gossh.Password("guess")); err == nil {
				t.Error("a wrong password logged in")
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	var want time.Duration // base·(1+2+…+2^(n-2))
	for i := range n - 1 {
		want += base << i
	}
	t.Logf("%d parallel guesses from one source: %v (%.1f guesses/s; sequential floor %v)", n, took, float64(n)/took.Seconds(), want)
	if took < want {
		t.Errorf("%d parallel guesses took %v, want ≥ %v (serialised with doubling delays)", n, took, want)
	}
}

// Item 6 over SSH: a trusted proxy's v1 or v2 header names the client in
// the session listing; the same header from anyone else is refused; with
// PROXY protocol off a header is never believed.
func TestSSHProxyHeaders(t *testing.T) {
	claimed := &net.TCPAddr{IP: net.ParseIP("10.9.8.7"), Port: 4321}
	hdr := func(v byte) *proxyproto.Header {
		return &proxyproto.Header{Version: v, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
			SourceAddr: claimed, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 2222}}
	}
	tests := []struct {
		name       string
		trusted    []string // nil: PROXY protocol off
		from       string
		header     *proxyproto.Header
		wantLogin  bool
		wantRemote string
	}{
		{name: "trusted v1", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.2", header: hdr(1), wantLogin: true, wantRemote: "10.9.8.7:4321"},
		{name: "trusted v2", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.2", header: hdr(2), wantLogin: true, wantRemote: "10.9.8.7:4321"},
		{name: "trusted without header", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.2"},
		{name: "untrusted v1 refused", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.3", header: hdr(1)},
		{name: "untrusted v2 refused", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.3", header: hdr(2)},
		{name: "untrusted direct client", trusted: []string{"127.0.0.2/32"}, from: "127.0.0.3", wantLogin: true, wantRemote: "127.0.0.3:"},
		{name: "off: v1 is an ignored line", from: "127.0.0.3", header: hdr(1), wantLogin: true, wantRemote: "127.0.0.3:"},
		{name: "off: v2 breaks the handshake", from: "127.0.0.3", header: hdr(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServerWith(t, options{signup: true, proxy: tt.trusted})
			c := s.rawFrom(tt.from)
			if tt.header != nil {
				if _, err := tt.header.WriteTo(c); err != nil {
					t.Fatal(err)
				}
			}
			client, err := s.sshOver(c, "alice", gossh.PublicKeys(sshtest.Signer(t)))
			if (err == nil) != tt.wantLogin {
				t.Fatalf("login = %v, want ok=%v", err, tt.wantLogin)
			}
			if !tt.wantLogin {
				// The server keeps serving others (127.0.0.4 is a direct client).
				if _, err := s.dialFrom("127.0.0.4", "bob", gossh.PublicKeys(sshtest.Signer(t))); err != nil {
					t.Errorf("another client after the refusal: %v", err)
				}
				return
			}
			shell(t, client, 80, 24, "").waitFor(" alice · 1")
			info, err := s.mgr.List(context.Background(), "alice", "")
			if err != nil || len(info) != 1 || len(info[0].Clients) != 1 {
				t.Fatalf("listing = %+v, %v", info, err)
			}
			if got := info[0].Clients[0].Remote; !strings.HasPrefix(got, tt.wantRemote) {
				t.Errorf("listed remote = %s, want %s", got, tt.wantRemote)
			}
		})
	}
}

// The first-admin rule sees the real address: a forged loopback address
// in a header from an untrusted peer does not make an admin, and a trusted
// proxy's remote client is not loopback.
func TestProxyFirstAdmin(t *testing.T) {
	s := startServerWith(t, options{signup: true, proxy: []string{"127.0.0.2/32"}})
	c := s.rawFrom("127.0.0.2")
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr: &net.TCPAddr{IP: net.ParseIP("203.0.113.5"), Port: 999}, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 2222}}
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	client, err := s.sshOver(c, "mallory", gossh.PublicKeys(sshtest.Signer(t)))
	if err != nil {
		t.Fatal(err)
	}
	shell(t, client, 80, 24, "").waitFor(" mallory · 1") // the key signup is done
	u, err := s.store.GetUser(context.Background(), "mallory")
	if err != nil || u.Role == persist.RoleAdmin {
		t.Errorf("mallory = %+v, %v: a client behind the proxy (203.0.113.5) must not become the first admin as if on loopback", u, err)
	}
	// The proxy's own loopback address is not the client's either way;
	// a direct loopback client is still judged as loopback.
	direct, err := s.dialFrom("127.0.0.3", "root", gossh.PublicKeys(sshtest.Signer(t)))
	if err != nil {
		t.Fatal(err)
	}
	shell(t, direct, 80, 24, "").waitFor(" root · 1")
	if r, err := s.store.GetUser(context.Background(), "root"); err != nil || r.Role != persist.RoleAdmin {
		t.Errorf("root = %+v, %v; want the first admin (direct from loopback)", r, err)
	}
}
