package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"termhost/auth"
	"termhost/persist"
	"termhost/web"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "termhost test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestListenTLS: with tls_cert and tls_key the listener speaks HTTPS only
// in HTTP/1.1 (the WebSocket upgrade needs it), the login cookie is
// Secure, and the terminal's WebSocket works over wss.
func TestListenTLS(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	certFile, keyFile, pool := selfSigned(t)
	srv, err := web.Listen(web.Config{Addr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile, Store: e.store, Manager: e.mgr,
		Login: func(ctx context.Context, name, password string, remote net.Addr, confirm func(context.Context) error) (persist.User, error) {
			return e.auth.Login(ctx, auth.LoginRequest{Transport: "web", User: name, Password: password, Remote: remote, ConfirmSignup: confirm})
		}, Log: slog.New(slog.NewTextHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	if !srv.TLS() {
		t.Fatal("TLS() is false with a certificate")
	}
	base := "https://" + srv.Addr().String()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}, ForceAttemptHTTP2: true}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: wait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("/"); resp.ProtoMajor != 1 {
		t.Fatalf("HTTPS answered in %s; want HTTP/1.1 only", resp.Proto)
	}
	u := mustURL(t, base)
	var csrf string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "termhost_csrf" {
			csrf = ck.Value
		}
	}
	resp, err := c.PostForm(base+"/login", map[string][]string{"csrf": {csrf}, "user": {"alice"}, "password": {"pw-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := loginCookie(t, resp)
	if !ck.Secure {
		t.Fatal("login cookie over HTTPS is not Secure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "wss://"+srv.Addr().String()+"/s/new/ws", &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + ck.Value}}})
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer ws.CloseNow()
	if typ, data, err := ws.Read(ctx); err != nil || typ != websocket.MessageText {
		t.Fatalf("first message over wss: %v %q %v", typ, data, err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
