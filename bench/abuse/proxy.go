package abuse

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// ProxyV1 is a PROXY protocol v1 header (the text form) for TCP over IPv4.
func ProxyV1(src, dst netip.AddrPort) []byte {
	return fmt.Appendf(nil, "PROXY TCP4 %s %s %d %d\r\n", src.Addr(), dst.Addr(), src.Port(), dst.Port())
}

// proxyV2Sig opens every PROXY protocol v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ProxyV2 is a PROXY protocol v2 header (binary) for TCP over IPv4.
func ProxyV2(src, dst netip.AddrPort) []byte {
	h := append([]byte(nil), proxyV2Sig...)
	h = append(h, 0x21, 0x11, 0, 12) // v2 PROXY; TCP over IPv4; 12 address bytes
	s, d := src.Addr().As4(), dst.Addr().As4()
	h = append(h, s[:]...)
	h = append(h, d[:]...)
	h = binary.BigEndian.AppendUint16(h, src.Port())
	return binary.BigEndian.AppendUint16(h, dst.Port())
}

// ProxyOptions is one login behind a PROXY header.
type ProxyOptions struct {
	Telnet bool           // log in over telnet (with User's password) instead of SSH
	Source string         // where the header comes from
	Claim  netip.AddrPort // the client address the header claims
	V2     bool           // the binary header instead of the text one
	User   Account
}

// ProxyResult is whether the login behind the header was served, and as
// whom the server saw it.
type ProxyResult struct {
	Outcome
	Served bool   // the login reached its first frame
	Err    string // why not
	SeenAs string // the client's remote_addr in `sessions list` while attached
}

// Proxy logs in behind a PROXY header and reads the listing.
func Proxy(ctx context.Context, t Target, o ProxyOptions) (ProxyResult, error) {
	addr := t.SSH
	if o.Telnet {
		addr = t.Telnet
	}
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ProxyResult{}, fmt.Errorf("listener %q: %w", addr, err)
	}
	header := ProxyV1(o.Claim, dst)
	if o.V2 {
		header = ProxyV2(o.Claim, dst)
	}
	var res ProxyResult
	out, err := t.observe(ctx, o.Telnet, nil, func(ctx context.Context) error {
		closeFn, err := proxyLogin(ctx, addr, o, header)
		if err != nil {
			res.Err = err.Error()
			return nil
		}
		defer closeFn()
		res.Served = true
		res.SeenAs, err = t.seenAs(ctx, o.User.Name)
		return err
	})
	res.Outcome = out
	return res, err
}

func proxyLogin(ctx context.Context, addr string, o ProxyOptions, header []byte) (func(), error) {
	if !o.Telnet {
		term, err := SSH{Addr: addr, Source: o.Source, Header: header, Timeout: 5 * time.Second}.Open(ctx, o.User.Name, o.User.Signer, TermOptions{Marker: FrameMarker})
		if err != nil {
			return nil, err
		}
		return func() { term.Close() }, nil
	}
	start := time.Now()
	c, err := DialTelnet(ctx, addr, o.Source, header, 80, 24)
	if err != nil {
		return nil, err
	}
	if _, err := c.Login(o.User.Name, o.User.Password, start, start.Add(5*time.Second)); err != nil {
		c.Close()
		return nil, err
	}
	return func() { c.Close() }, nil
}
