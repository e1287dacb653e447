package admission_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"termhost/admission"
)

// header is a PROXY header claiming 10.0.0.1:1234 → 10.0.0.2:22.
func header(version byte) *proxyproto.Header {
	return &proxyproto.Header{
		Version: version, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1234},
		DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 22},
	}
}

// SPEC §6: a header is believed only from proxy_trusted; from anyone else
// it is refused, and a trusted proxy must send one.
func TestTrust(t *testing.T) {
	tests := []struct {
		name       string
		from       string
		header     *proxyproto.Header
		wantAdmit  error  // from Gate.Admit
		wantRemote string // the address the server sees
		wantRead   error  // reading the payload
	}{
		{name: "trusted v1", from: "127.0.0.2", header: header(1), wantRemote: "10.0.0.1:1234"},
		{name: "trusted v2", from: "127.0.0.2", header: header(2), wantRemote: "10.0.0.1:1234"},
		{name: "trusted without a header", from: "127.0.0.2", wantAdmit: admission.ErrProxyHeader},
		{name: "trusted LOCAL (health check)", from: "127.0.0.2", header: &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL}, wantAdmit: admission.ErrProxyHeader},
		{name: "untrusted v1 is refused", from: "127.0.0.3", header: header(1), wantRemote: "127.0.0.3", wantRead: proxyproto.ErrSuperfluousProxyHeader},
		{name: "untrusted v2 is refused", from: "127.0.0.3", header: header(2), wantRemote: "127.0.0.3", wantRead: proxyproto.ErrSuperfluousProxyHeader},
		{name: "untrusted without a header is a direct client", from: "127.0.0.3", wantRemote: "127.0.0.3"},
	}
	trust, err := admission.ParseTrust([]string{"127.0.0.2/32", "192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	trust.HeaderTimeout, trust.Log = time.Second, slog.New(slog.NewTextHandler(io.Discard, nil))
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := trust.Listen("ssh", raw)
	t.Cleanup(func() { ln.Close() })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}, Timeout: wait}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.header != nil {
				if _, err := tt.header.WriteTo(c); err != nil {
					t.Fatal(err)
				}
			}
			c.Write([]byte("SSH-2.0-client\r\n"))
			srv, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.SetDeadline(time.Now().Add(wait))

			tk, err := admission.New(admission.Config{}).Admit("ssh", srv, nil)
			if !errors.Is(err, tt.wantAdmit) || (tt.wantAdmit == nil && err != nil) {
				t.Fatalf("Admit = %v, want %v", err, tt.wantAdmit)
			}
			if err != nil {
				return
			}
			defer tk.Release()
			if got := srv.RemoteAddr().String(); !strings.HasPrefix(got, tt.wantRemote) {
				t.Errorf("RemoteAddr = %s, want %s", got, tt.wantRemote)
			}
			if want := strings.Split(tt.wantRemote, ":")[0]; tk.Source() != want {
				t.Errorf("admitted as source %q, want %q", tk.Source(), want)
			}
			buf := make([]byte, 16)
			_, err = io.ReadFull(srv, buf)
			if !errors.Is(err, tt.wantRead) || (tt.wantRead == nil && err != nil) {
				t.Fatalf("Read = %v, want %v", err, tt.wantRead)
			}
			if err == nil && string(buf) != "SSH-2.0-client\r\n" {
				t.Errorf("payload = %q, want the client's bytes after the header", buf)
			}
		})
	}
}

// An untrusted client's address is known at once, without waiting for its
// first bytes (a silent client must not hold the accept path or escape the
// unauthenticated caps), and the server may speak first.
func TestUntrustedSilentClient(t *testing.T) {
	trust, err := admission.ParseTrust([]string{"192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	trust.HeaderTimeout = wait
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := trust.Listen("ssh", raw)
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	start := time.Now()
	tk, err := admission.New(admission.Config{}).Admit("ssh", srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Release()
	if _, err := srv.Write([]byte("login: ")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("admitting and greeting a silent client took %v", d)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "login: " {
		t.Errorf("client read %q, %v", buf, err)
	}
}

func TestParseTrust(t *testing.T) {
	tests := []struct {
		name    string
		ranges  []string
		wantErr bool
	}{
		{name: "none", ranges: nil},
		{name: "cidrs and addresses", ranges: []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}},
		{name: "bad prefix length", ranges: []string{"10.0.0.0/33"}, wantErr: true},
		{name: "host name", ranges: []string{"lb.example.com"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := admission.ParseTrust(tt.ranges)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseTrust = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "proxy_trusted") {
				t.Errorf("error %q does not name proxy_trusted", err)
			}
		})
	}
	var off *admission.Trust
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if off.Listen("ssh", raw) != raw {
		t.Error("a nil Trust (PROXY protocol off) wrapped the listener")
	}
}
