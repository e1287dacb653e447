package bench

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// GCStat is one line of GODEBUG=gctrace=1 output: the runtime prints it
// to stderr at the end of every GC cycle. This is how the tool sees the
// server's Go heap without any server change.
type GCStat struct {
	Num    int // cycle number
	LiveMB int // heap marked live by this cycle (MB, as the runtime rounds it)
	GoalMB int // heap goal for the next cycle
}

// GCTrace follows gctrace lines in a server's stderr. It is an io.Writer.
type GCTrace struct {
	mu      sync.Mutex
	partial []byte
	last    GCStat
}

// Write scans complete lines for gctrace records.
func (g *GCTrace) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.partial = append(g.partial, p...)
	for {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			break
		}
		if st, ok := parseGCLine(string(g.partial[:i])); ok {
			g.last = st
		}
		g.partial = g.partial[i+1:]
	}
	if len(g.partial) > 64<<10 {
		g.partial = g.partial[:0]
	}
	return len(p), nil
}

// Last is the newest cycle seen (zero before the first).
func (g *GCTrace) Last() GCStat {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// parseGCLine reads "gc 12 @3.4s 1%: … ms cpu, 40->41->20 MB, 42 MB goal, …".
func parseGCLine(line string) (GCStat, bool) {
	if !strings.HasPrefix(line, "gc ") {
		return GCStat{}, false
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return GCStat{}, false
	}
	num, err := strconv.Atoi(f[1])
	if err != nil {
		return GCStat{}, false
	}
	st := GCStat{Num: num}
	for _, part := range strings.Split(line, ",") {
		part = strings.TrimSpace(part)
		switch {
		case strings.HasSuffix(part, " MB goal"):
			st.GoalMB, _ = strconv.Atoi(strings.TrimSuffix(part, " MB goal"))
		case strings.HasSuffix(part, " MB") && strings.Count(part, "->") == 2:
			heaps := strings.Split(strings.TrimSuffix(part, " MB"), "->")
			if st.LiveMB, err = strconv.Atoi(heaps[2]); err != nil {
				return GCStat{}, false
			}
		}
	}
	return st, true
}

// NewKey makes an ed25519 key for the load's users.
func NewKey() (gossh.Signer, ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	s, err := gossh.NewSignerFromKey(priv)
	return s, priv, err
}

// WriteKeyFile writes priv in OpenSSH format (0600) for the OpenSSH client,
// and the public half next to it.
func WriteKeyFile(dir string, priv ed25519.PrivateKey) (string, error) {
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// LoadKeyFile reads an OpenSSH private key (for targets with existing users).
func LoadKeyFile(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return s, nil
}
