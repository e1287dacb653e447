package telnetd_test

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
)

// A normal login reaches the workspace and outlives the grace.
func TestLogin(t *testing.T) {
	n := start(t, options{gate: admission.Config{Grace: time.Second}})
	n.addUser("wendy", "right")
	c := n.dialFrom("127.0.0.2")
	if !c.login("wendy", "right") {
		t.Fatal("the right password was refused")
	}
	time.Sleep(1200 * time.Millisecond) // outlive the 1 s grace on purpose
	c.send("after the grace")
	c.mustSee("after the grace")
}

// Item 3: login_grace is an absolute deadline from accept. Negotiation used
// to clear the login's deadline, so a silent socket (or one byte every
// 10 s) stayed forever.
func TestLoginGraceIsAbsolute(t *testing.T) {
	const grace = time.Second
	tests := []struct {
		name    string
		trickle string // sent one byte every 100ms
	}{
		{name: "silent socket"},
		{name: "trickled name", trickle: strings.Repeat("a", 40)},
		{name: "trickled password", trickle: "wendy\r\n" + strings.Repeat("p", 40)},
	}
	n := start(t, options{gate: admission.Config{Grace: grace}})
	n.addUser("wendy", "right")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := n.dialFrom("127.0.0.2")
			begin := time.Now()
			go func() {
				for i := range len(tt.trickle) {
					if _, err := c.c.Write([]byte{tt.trickle[i]}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			c.c.SetReadDeadline(time.Now().Add(wait))
			out, err := io.ReadAll(c.c)
			took := time.Since(begin)
			// A client still sending when the server closes gets a reset,
			// which may discard the farewell it had not read yet.
			reset := errors.Is(err, syscall.ECONNRESET)
			if (err != nil && !reset) || took < grace-50*time.Millisecond || took > grace+time.Second {
				t.Errorf("connection ended after %v (%v), want ≈%v", took, err, grace)
			}
			if !reset && !strings.Contains(string(out), "login timed out") {
				t.Errorf("the client was not told why: %q", out)
			}
		})
	}
}

// Item 4: silent connections from one address fill that address's cap,
// not the node's: another address still logs in.
func TestPerSourceUnauthenticatedCap(t *testing.T) {
	const perSource = 3
	n := start(t, options{gate: admission.Config{MaxUnauth: 16, MaxUnauthPerSource: perSource}})
	n.addUser("wendy", "right")
	for range perSource {
		n.dialFrom("127.0.0.2").mustSee("login: ")
	}
	refused := n.dialFrom("127.0.0.2")
	if err := refused.readUntil("too many connections from your address"); err != nil {
		t.Errorf("connection %d from 127.0.0.2: %v, got %q; want refused", perSource+1, err, refused.out.String())
	}
	if !n.dialFrom("127.0.0.3").login("wendy", "right") {
		t.Error("a client from 127.0.0.3 could not log in")
	}
}

// Item 5 over telnet: parallel guesses from one address are answered one at
// a time, each after the doubled delay of all earlier failures.
func TestParallelGuessesAreSerialised(t *testing.T) {
	const guesses, base = 5, 40 * time.Millisecond
	limiter := auth.NewLimiter(time.Now)
	limiter.BaseDelay = base
	n := start(t, options{gate: admission.Config{MaxUnauth: 32}, sources: limiter})
	for i := range guesses {
		n.addUser(fmt.Sprintf("carol%d", i), "right") // one account each: only the source's rules apply
	}
	clients := make([]*client, guesses)
	for i := range clients {
		clients[i] = n.dialFrom("127.0.0.2")
		clients[i].mustSee("login: ")
	}
	begin := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			c.send(fmt.Sprintf("carol%d\r\n", i))
			c.mustSee("Password: ")
			c.send("guess\r\n")
			c.mustSee("Login incorrect")
		})
	}
	wg.Wait()
	took := time.Since(begin)
	var want time.Duration
	for i := range guesses - 1 {
		want += base << i
	}
	t.Logf("%d parallel guesses from one source: %v (%.1f guesses/s; sequential floor %v)", guesses, took, float64(guesses)/took.Seconds(), want)
	if took < want {
		t.Errorf("%d parallel guesses took %v, want ≥ %v (serialised with doubling delays)", guesses, took, want)
	}
}

// One login path: a wrong password over telnet delays the next SSH attempt
// from the same address, and not one from another address.
func TestTelnetFailureDelaysSSH(t *testing.T) {
	const base = time.Second
	limiter := auth.NewLimiter(time.Now)
	limiter.BaseDelay = base
	n := start(t, options{ssh: true, sources: limiter})
	n.addUser("wendy", "right")
	n.addUser("xavier", "right") // another account: no per-account delay involved
	if n.dialFrom("127.0.0.2").login("wendy", "wrong") {
		t.Fatal("a wrong password logged in")
	}
	sshLogin := func(from string) time.Duration {
		t.Helper()
		conn := dialTCP(t, from, n.sshAddr)
		conn.SetDeadline(time.Now().Add(wait))
		begin := time.Now()
		cc, chans, reqs, err := gossh.NewClientConn(conn, n.sshAddr, &gossh.ClientConfig{
			User: "xavier", Auth: []gossh.AuthMethod{gossh.Password("right")}, HostKeyCallback: gossh.FixedHostKey(n.hostKey)})
		if err != nil {
			t.Fatalf("ssh from %s: %v", from, err)
		}
		took := time.Since(begin)
		gossh.NewClient(cc, chans, reqs).Close()
		return took
	}
	other := sshLogin("127.0.0.3")
	same := sshLogin("127.0.0.2")
	t.Logf("ssh login after a telnet failure: same address %v, other address %v", same, other)
	if same < base {
		t.Errorf("ssh from the address that failed over telnet took %v, want ≥ %v", same, base)
	}
	if same-other < base/2 {
		t.Errorf("ssh from another address took %v, about as long as from the failing one (%v)", other, same)
	}
}

// Item 6 over telnet (it had no PROXY support): a trusted proxy's v1 or v2
// header names the client in the session listing; the same header from
// anyone else is refused; with PROXY protocol off it is never believed.
func TestProxyHeaders(t *testing.T) {
	claimed := &net.TCPAddr{IP: net.ParseIP("10.9.8.7"), Port: 4321}
	hdr := func(v byte) *proxyproto.Header {
		return &proxyproto.Header{Version: v, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
			SourceAddr: claimed, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 23}}
	}
	tests := []struct {
		name       string
		trusted    []string // nil: PROXY protocol off
		from       string
		header     *proxyproto.Header
		wantLogin  bool
		wantRemote string
	}{
		{name: "trusted v1", trusted: []string{"127.0.0.2"}, from: "127.0.0.2", header: hdr(1), wantLogin: true, wantRemote: "10.9.8.7:4321"},
		{name: "trusted v2", trusted: []string{"127.0.0.2"}, from: "127.0.0.2", header: hdr(2), wantLogin: true, wantRemote: "10.9.8.7:4321"},
		{name: "trusted without header", trusted: []string{"127.0.0.2"}, from: "127.0.0.2"},
		{name: "untrusted v1 refused", trusted: []string{"127.0.0.2"}, from: "127.0.0.3", header: hdr(1)},
		{name: "untrusted v2 refused", trusted: []string{"127.0.0.2"}, from: "127.0.0.3", header: hdr(2)},
		{name: "untrusted direct client", trusted: []string{"127.0.0.2"}, from: "127.0.0.3", wantLogin: true, wantRemote: "127.0.0.3:"},
		{name: "off: a header is not believed", from: "127.0.0.3", header: hdr(1), wantLogin: true, wantRemote: "127.0.0.3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A trusted proxy's header is awaited for the grace (a silent
			// client behind no header waits it out): keep it short.
			n := start(t, options{proxy: tt.trusted, gate: admission.Config{Grace: 2 * time.Second}})
			n.addUser("wendy", "right")
			c := n.dialFrom(tt.from)
			if tt.header != nil {
				if _, err := tt.header.WriteTo(c.c); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.wantLogin {
				c.c.SetReadDeadline(time.Now().Add(wait))
				out, err := io.ReadAll(c.c)
				if err != nil || strings.Contains(string(out), "login:") {
					t.Errorf("refused connection read %q, %v; want it closed before login:", out, err)
				}
				if !n.dialFrom("127.0.0.4").login("wendy", "right") {
					t.Error("a direct client after the refusal could not log in")
				}
				return
			}
			if tt.trusted == nil && tt.header != nil {
				// Off: the header line is just the first answer to login:.
				c.mustSee("Password: ")
				c.send("\r\n")
				c.mustSee("Login incorrect")
			}
			if !c.login("wendy", "right") {
				t.Fatal("login refused")
			}
			info, err := n.mgr.List(context.Background(), "wendy", "")
			if err != nil || len(info) != 1 || len(info[0].Clients) != 1 {
				t.Fatalf("listing = %+v, %v", info, err)
			}
			if got := info[0].Clients[0].Remote; !strings.HasPrefix(got, tt.wantRemote) {
				t.Errorf("listed remote = %s, want %s", got, tt.wantRemote)
			}
		})
	}
}

// Wrong passwords on one connection are answered later each time (the
// source's doubling delay), however fast the hash is.
func TestFailuresOnOneConnectionDelay(t *testing.T) {
	const base = 100 * time.Millisecond
	limiter := auth.NewLimiter(time.Now)
	limiter.BaseDelay = base
	n := start(t, options{sources: limiter})
	n.addUser("wendy", "right")
	c := n.dialFrom("127.0.0.2")
	for i, want := range []time.Duration{0, base, 2 * base} {
		begin := time.Now()
		if c.login("wendy", "wrong") {
			t.Fatal("a wrong password logged in")
		}
		if took := time.Since(begin); took < want {
			t.Errorf("attempt %d answered after %v, want ≥ %v", i+1, took, want)
		}
	}
	c.mustSee("too many failed logins")
}
