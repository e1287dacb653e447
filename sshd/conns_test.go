package sshd_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/admission"
	"termhost/internal/sshtest"
	"termhost/persist"
	"termhost/sshd"
)

// closedWithin waits up to d for the server to end c's connection and
// returns how long that took, or false if it stayed open.
func closedWithin(c *gossh.Client, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
		return time.Since(start), true
	case <-time.After(d):
		return d, false
	}
}

// Issue 8: an authenticated connection that runs no session (none opened,
// a channel opened but no shell or exec, or its command ended) is closed
// after ssh_session_grace; one running a shell is not. Before, 13,020 such
// connections were held open for good.
func TestSessionGrace(t *testing.T) {
	const grace = 300 * time.Millisecond
	s := startServerWith(t, options{gate: admission.Config{MaxUnauth: 16}, limits: &sshd.Limits{SessionGrace: grace}})
	signer := sshtest.Signer(t)
	s.addUser("alice", persist.RoleUser, "", signer.PublicKey())
	tests := []struct {
		name  string
		setup func(t *testing.T, c *gossh.Client)
	}{
		{name: "no channel", setup: func(*testing.T, *gossh.Client) {}},
		{name: "a channel with no shell or exec", setup: func(t *testing.T, c *gossh.Client) {
			if _, _, err := c.OpenChannel("session", nil); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "after its command ended", setup: func(t *testing.T, c *gossh.Client) {
			if code, _, _ := sshtest.Run(t, c, "ls"); code != 0 {
				t.Fatalf("ls: exit %d", code)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.mustDial("alice", gossh.PublicKeys(signer))
			tt.setup(t, c)
			took, closed := closedWithin(c, grace+3*time.Second)
			if !closed || took > grace+2*time.Second {
				t.Errorf("connection closed %v after setup (closed: %v); want within ≈%v", took, closed, grace)
			}
		})
	}
	t.Run("a running shell stays", func(t *testing.T) {
		c := s.mustDial("alice", gossh.PublicKeys(signer))
		tm := shell(t, c, 80, 24, "")
		tm.waitFor(" alice · 1")
		if took, closed := closedWithin(c, 3*grace); closed {
			t.Fatalf("connection with a shell closed after %v", took)
		}
		tm.send("still here")
		tm.waitFor("still here")
	})
}

// Issue 8: authenticated connections are capped per user and per source;
// the refused client reads why as the reason its channel failed, and a
// closed connection frees its slots.
func TestAuthenticatedConnCaps(t *testing.T) {
	s := startServerWith(t, options{gate: admission.Config{MaxUnauth: 16},
		limits: &sshd.Limits{PerUser: 2, PerSource: 3, SessionGrace: wait}})
	keys := map[string]gossh.Signer{}
	for _, u := range []string{"alice", "bob", "carol"} {
		keys[u] = sshtest.Signer(t)
		s.addUser(u, persist.RoleUser, "", keys[u].PublicKey())
	}
	open := func(ip, user string) (*gossh.Client, error) {
		c, err := s.dialFrom(ip, user, gossh.PublicKeys(keys[user]))
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		sess, err := c.NewSession()
		if err != nil {
			return c, err
		}
		sess.Close()
		return c, nil
	}
	var first *gossh.Client
	tests := []struct {
		name, ip, user string
		refused        string // "" admitted, else the reason the client reads
	}{
		{name: "alice 1", ip: "127.0.0.2", user: "alice"},
		{name: "alice 2", ip: "127.0.0.2", user: "alice"},
		{name: "alice 3, another address", ip: "127.0.0.3", user: "alice", refused: "too many SSH connections for this user"},
		{name: "bob fills 127.0.0.2", ip: "127.0.0.2", user: "bob"},
		{name: "carol from the full address", ip: "127.0.0.2", user: "carol", refused: "too many SSH connections from this address"},
		{name: "carol from another address", ip: "127.0.0.4", user: "carol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := open(tt.ip, tt.user)
			if first == nil {
				first = c
			}
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
				t.Fatalf("got %v; want refused with %q", err, tt.refused)
			case tt.refused != "":
				// The refused connection does not linger: the server ends it.
				if took, closed := closedWithin(c, 5*time.Second); !closed {
					t.Errorf("refused connection still open after %v", took)
				}
			}
		})
	}
	t.Run("a closed connection frees its slots", func(t *testing.T) {
		first.Close()
		deadline := time.Now().Add(wait)
		for {
			_, err := open("127.0.0.5", "alice")
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("alice still refused after her connection closed: %v", err)
			}
			time.Sleep(20 * time.Millisecond) // the server sees the close asynchronously
		}
	})
}

type envReq struct{ name, value string }

// sendEnv sends each env request on a fresh session channel and returns
// the server's answers.
func sendEnv(t *testing.T, c *gossh.Client, reqs []envReq, raw []byte) []bool {
	t.Helper()
	ch, in, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	go gossh.DiscardRequests(in)
	var got []bool
	for _, r := range reqs {
		ok, err := ch.SendRequest("env", true, gossh.Marshal(struct{ Key, Value string }{r.name, r.value}))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if raw != nil {
		ok, err := ch.SendRequest("env", true, raw)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	return got
}

func vars(n, size int) []envReq {
	out := make([]envReq, n)
	for i := range out {
		name := fmt.Sprintf("V%d", i)
		out[i] = envReq{name, strings.Repeat("x", max(size-len(name), 0))}
	}
	return out
}

// Issue 8: env requests are bounded per channel in count, size and total
// (charm.land/ssh kept them all: 1.4 GB from one connection); the ones over
// a bound are answered false and not stored.
func TestEnvRequestsAreBounded(t *testing.T) {
	s := startServer(t, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(t)))
	tests := []struct {
		name string
		reqs []envReq
		raw  []byte // a malformed payload sent last
		want []bool // answers of the last requests; every earlier one true
	}{
		{name: "the 65th variable", reqs: vars(sshd.MaxEnv+1, 8), want: []bool{true, false}},
		{name: "a variable at the size bound", reqs: vars(1, sshd.MaxEnvVar), want: []bool{true}},
		{name: "a variable one byte over", reqs: vars(1, sshd.MaxEnvVar+1), want: []bool{false}},
		{name: "over the total", reqs: append(vars(sshd.MaxEnvTotal/sshd.MaxEnvVar, sshd.MaxEnvVar), envReq{"A", "b"}), want: []bool{true, false}},
		{name: "a refusal frees nothing but is not counted", reqs: append(vars(sshd.MaxEnv-1, 8), envReq{"BIG", strings.Repeat("x", sshd.MaxEnvVar)}, envReq{"LANG", "C"}), want: []bool{false, true}},
		{name: "a payload that does not parse", raw: []byte{0, 0, 0, 9, 'x'}, want: []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sendEnv(t, c, tt.reqs, tt.raw)
			want := make([]bool, len(got)-len(tt.want), len(got))
			for i := range want {
				want[i] = true
			}
			want = append(want, tt.want...)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				k := len(tt.want)
				t.Errorf("%d answers ending %v, want ending %v (every earlier one true)", len(got), got[len(got)-k:], want[len(want)-k:])
			}
		})
	}
}

// LANG and LC_* still reach the session through the bounded env path: a
// non-UTF-8 locale gets ASCII drawing characters (sessions.CharsetFor).
func TestLocaleEnvStillWorks(t *testing.T) {
	s := startServer(t, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(t)))
	tests := []struct {
		name, env, value string
		want, absent     string
	}{
		{name: "LANG UTF-8", env: "LANG", value: "en_US.UTF-8", want: " alice · 1"},
		{name: "LANG C", env: "LANG", value: "C", want: " alice ", absent: "·"},
		{name: "LC_ALL Latin-1", env: "LC_ALL", value: "de_DE.ISO-8859-1", want: " alice ", absent: "·"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if err := sess.Setenv(tt.env, tt.value); err != nil {
				t.Fatalf("env %s refused: %v", tt.env, err)
			}
			tm := attachOn(t, sess, 80, 24)
			scr := tm.waitFor(tt.want)
			if tt.absent != "" && strings.Contains(scr, tt.absent) {
				t.Errorf("screen has %q under %s=%s:\n%s", tt.absent, tt.env, tt.value, scr)
			}
		})
	}
}

// Issue 8: a connection holds at most sshd.MaxChannels session channels
// (50,000 cost 308 MB); a closed one frees its slot; other channel types
// and global requests (port forwarding) are refused.
func TestChannelsPerConnection(t *testing.T) {
	s := startServer(t, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(t)))
	var chans []gossh.Channel
	for i := range sshd.MaxChannels {
		ch, in, err := c.OpenChannel("session", nil)
		if err != nil {
			t.Fatalf("channel %d: %v", i+1, err)
		}
		go gossh.DiscardRequests(in)
		chans = append(chans, ch)
	}
	reason := func(err error) (gossh.RejectionReason, string) {
		var oe *gossh.OpenChannelError
		if errors.As(err, &oe) {
			return oe.Reason, oe.Message
		}
		return 0, fmt.Sprint(err)
	}
	tests := []struct {
		name, typ string
		payload   []byte
		want      gossh.RejectionReason
		message   string
	}{
		{name: "one session channel more", typ: "session", want: gossh.ResourceShortage, message: "too many channels"},
		{name: "direct-tcpip", typ: "direct-tcpip", payload: gossh.Marshal(struct {
			Host     string
			Port     uint32
			OrigHost string
			OrigPort uint32
		}{"127.0.0.1", 22, "127.0.0.1", 1234}), want: gossh.UnknownChannelType},
		{name: "x11", typ: "x11", want: gossh.UnknownChannelType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.OpenChannel(tt.typ, tt.payload)
			r, msg := reason(err)
			if err == nil || r != tt.want || !strings.Contains(msg, tt.message) {
				t.Errorf("open %s: %v; want rejected (%v) with %q", tt.typ, err, tt.want, tt.message)
			}
		})
	}
	t.Run("tcpip-forward", func(t *testing.T) {
		ok, _, err := c.SendRequest("tcpip-forward", true, gossh.Marshal(struct {
			Addr string
			Port uint32
		}{"127.0.0.1", 0}))
		if ok || err != nil {
			t.Errorf("tcpip-forward: ok %v, err %v; want refused", ok, err)
		}
	})
	t.Run("a closed channel frees its slot", func(t *testing.T) {
		chans[0].Close()
		deadline := time.Now().Add(wait)
		for {
			ch, in, err := c.OpenChannel("session", nil)
			if err == nil {
				go gossh.DiscardRequests(in)
				ch.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still refused after a channel closed: %v", err)
			}
			time.Sleep(10 * time.Millisecond) // the server sees the close asynchronously
		}
	})
}

// Issue 8: node-wide, at most Limits.Sessionless authenticated connections
// run no session; one more closes the one waiting longest (not the
// newcomer, so a flood from many addresses locks nobody out), and a
// connection running a shell is never chosen.
func TestSessionlessCap(t *testing.T) {
	s := startServerWith(t, options{gate: admission.Config{MaxUnauth: 16}, limits: &sshd.Limits{Sessionless: 3, SessionGrace: wait}})
	signer := sshtest.Signer(t)
	s.addUser("alice", persist.RoleUser, "", signer.PublicKey())
	dial := func() *gossh.Client { return s.mustDial("alice", gossh.PublicKeys(signer)) }
	busy := dial()
	tm := shell(t, busy, 80, 24, "")
	tm.waitFor(" alice · 1")
	c1, c2, c3 := dial(), dial(), dial()
	tests := []struct {
		name    string
		act     func() *gossh.Client // returns the connection that must now close
		stay    []*gossh.Client
		closing string
	}{
		{name: "a fourth closes the first", act: func() *gossh.Client { dial(); return c1 }, stay: []*gossh.Client{c2, c3, busy}},
		{name: "a command moves one to the back", act: func() *gossh.Client {
			if code, _, _ := sshtest.Run(t, c2, "ls"); code != 0 {
				t.Fatalf("ls: exit %d", code)
			}
			dial()
			return c3
		}, stay: []*gossh.Client{c2, busy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := tt.act()
			if took, closed := closedWithin(gone, wait); !closed {
				t.Fatalf("the longest sessionless connection still open after %v", took)
			}
			for i, c := range tt.stay {
				if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
					t.Errorf("connection %d closed too: %v", i, err)
				}
			}
		})
	}
	tm.send("still here")
	tm.waitFor("still here")
}
