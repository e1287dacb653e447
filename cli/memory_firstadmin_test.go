package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestMemoryNodeSignupNeverAdmin (issue 12 finding 5): on a memory node
// whose config users include no admin, the first loopback signup is not
// made admin (it would be again after every restart, memory forgets);
// a durable store keeps the first-admin rule. The account's role is seen
// through an admin-only verb over SSH.
func TestMemoryNodeSignupNeverAdmin(t *testing.T) {
	tests := []struct {
		name      string
		memory    bool
		wantAdmin bool
	}{
		{name: "memory node", memory: true},
		{name: "sqlite node", wantAdmin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			cfg := serveConfig(t, dir)
			cfg.AllowSignup = true
			if tt.memory {
				cfg.Store = "memory"
				memoryTestConfig(t, &cfg)
			}
			stop, out := startServeOut(t, cfg)
			defer stop()
			m := sshAddrRE.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no ssh address in:\n%s", out)
			}
			_, userKey, _ := ed25519.GenerateKey(rand.Reader)
			signer, _ := gossh.NewSignerFromKey(userKey)
			c, err := gossh.Dial("tcp", m[1], &gossh.ClientConfig{User: "first", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
				HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("ssh signup from loopback: %v", err)
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := sess.CombinedOutput("sessions list")
			t.Logf("sessions list as the first signup: %q", got)
			isAdmin := !strings.Contains(string(got), "permission denied")
			if isAdmin != tt.wantAdmin {
				t.Errorf("first loopback signup admin %v, want %v (sessions list said %q)", isAdmin, tt.wantAdmin, got)
			}
		})
	}
}
