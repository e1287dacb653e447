package abuse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

func TestProxyHeadersParse(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.1.2.3:50001"), netip.MustParseAddrPort("127.0.0.1:2222")
	for _, tc := range []struct {
		name    string
		header  []byte
		version byte
	}{
		{name: "v1", header: ProxyV1(src, dst), version: 1},
		{name: "v2", header: ProxyV2(src, dst), version: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(append(tc.header, "SSH-2.0-x\r\n"...)))
			h, err := proxyproto.Read(r)
			if err != nil {
				t.Fatalf("go-proxyproto does not read our %s header %q: %v", tc.name, tc.header, err)
			}
			if h.Version != tc.version || h.SourceAddr.String() != src.String() || h.DestinationAddr.String() != dst.String() {
				t.Errorf("read back v%d %s → %s, want v%d %s → %s", h.Version, h.SourceAddr, h.DestinationAddr, tc.version, src, dst)
			}
			if rest, _ := r.ReadString('\n'); rest != "SSH-2.0-x\r\n" {
				t.Errorf("the header swallowed what follows it: %q", rest)
			}
		})
	}
}

func TestTelnetParserAnswers(t *testing.T) {
	const iac = tIAC
	for _, tc := range []struct {
		name      string
		in        [][]byte // fed in pieces
		data      string
		wantReply []byte
	}{
		{name: "window size", in: [][]byte{{iac, tDO, tNAWS}}, wantReply: []byte{iac, tWILL, tNAWS, iac, tSB, tNAWS, 0, 80, 0, 24, iac, tSE}},
		{name: "terminal type", in: [][]byte{{iac, tDO, tTType, iac, tSB, tTType, tSend, iac, tSE}},
			wantReply: append(append([]byte{iac, tWILL, tTType, iac, tSB, tTType, tIS}, "xterm-256color"...), iac, tSE)},
		{name: "server echo and go-ahead accepted", in: [][]byte{{iac, tWILL, tEcho, iac, tWILL, tSGA}}, wantReply: []byte{iac, tDO, tEcho, iac, tDO, tSGA}},
		{name: "anything else refused", in: [][]byte{{iac, tDO, 39, iac, tWILL, 34}}, wantReply: []byte{iac, tWONT, 39, iac, tDONT, 34}},
		{name: "data around commands, split anywhere", in: [][]byte{[]byte("log"), {iac}, {tDO}, {tNAWS}, []byte("in: "), {iac, iac}},
			data: "login: \xff", wantReply: []byte{iac, tWILL, tNAWS, iac, tSB, tNAWS, 0, 80, 0, 24, iac, tSE}},
		{name: "replies ignored", in: [][]byte{{iac, tWONT, tEcho, iac, tDONT, tNAWS}, []byte("x")}, data: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p parser
			var data, reply []byte
			for _, piece := range tc.in {
				d, r := p.feed(piece, 80, 24)
				data, reply = append(data, d...), append(reply, r...)
			}
			if string(data) != tc.data || !bytes.Equal(reply, tc.wantReply) {
				t.Errorf("got data %q reply %v, want %q %v", data, reply, tc.data, tc.wantReply)
			}
		})
	}
}

func TestGuessBursts(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		answers []time.Duration
		maxIn   int
		within  int
	}{
		{name: "none", maxIn: 0, within: 0},
		{name: "sequential schedule", answers: ms(0, 250, 750, 1750, 3750), maxIn: 3, within: 3},
		{name: "a burst late", answers: ms(8300, 8400, 8900, 9000, 9900, 9950, 10000), maxIn: 4, within: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := GuessResult{Answers: tc.answers, Window: 10 * time.Second}
			if got := g.MaxIn(time.Second); got != tc.maxIn {
				t.Errorf("MaxIn(1s) = %d, want %d", got, tc.maxIn)
			}
			if got := g.Within(time.Second); got != tc.within {
				t.Errorf("Within(1s) = %d, want %d", got, tc.within)
			}
		})
	}
}

func TestPasteText(t *testing.T) {
	for _, tc := range []struct {
		name       string
		size, line int
		lines      int
	}{
		{name: "one line", size: 1000, line: 0, lines: 1},
		{name: "lines of 64", size: 640, line: 64, lines: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := string(pasteText(tc.size, tc.line))
			if len(p) != tc.size {
				t.Errorf("%d bytes, want %d", len(p), tc.size)
			}
			if strings.ContainsAny(p, "Q0123456789\x1b\n") {
				t.Errorf("the paste holds a marker character, a digit or an escape: %q", p)
			}
			if got := len(strings.Split(strings.TrimSuffix(p, "\r"), "\r")); got != tc.lines {
				t.Errorf("%d lines, want %d", got, tc.lines)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.9", true}, {"127.0.0.1:2222", true}, {"127.255.255.254", true},
		{"10.0.0.1", false}, {"192.0.2.1:22", false}, {"::1", false}, {"localhost:22", false}, {"", false},
	} {
		err := Loopback(tc.addr)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNotLoopback)) {
			t.Errorf("Loopback(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestExpectSeesOnlyLaterBytes(t *testing.T) {
	s := newStream()
	s.write([]byte("ctrl+b ? help"))
	e := s.expect("ctrl+b ? help")
	s.write([]byte("ctrl+b"))
	s.write([]byte(" ? he"))
	if _, err := s.wait(e, time.Now()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a marker that arrived before expect, or half of one, completed it: %v", err)
	}
	e = s.expect("ctrl+b ? help")
	s.write([]byte("xx ctrl+b"))
	s.write([]byte(" ? help"))
	if _, err := s.wait(e, time.Now().Add(time.Second)); err != nil {
		t.Fatalf("a marker split across writes was missed: %v", err)
	}
	e = s.expect("never")
	s.close()
	if _, err := s.wait(e, time.Now().Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting past EOF: %v, want ErrClosed", err)
	}
}

// Flood against a loopback listener that hangs up after 100 ms: every
// connection is seen closed by the server, and the lifetimes say when.
func TestFloodSeesServerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			time.AfterFunc(100*time.Millisecond, func() { c.Close() })
		}
	}()
	tg := Target{PID: os.Getpid()} // no listeners: no bystander logins
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Flood(ctx, tg, FloodOptions{Addrs: []string{ln.Addr().String()}, Source: AttackSource, N: 5, Hold: 5 * time.Second})
	if err != nil {
		t.Skipf("cannot flood from %s here: %v", AttackSource, err)
	}
	if r.Opened != 5 || r.Closed != 5 || r.Open != 0 || r.MaxLife < 100*time.Millisecond || r.MaxLife > 2*time.Second {
		t.Errorf("flood result %+v: want 5 opened and closed by the server after ≈100 ms", r)
	}
	if r.Usage.PeakRSS <= 0 {
		t.Errorf("no memory sample: %+v", r.Usage)
	}
}
