// Package hostkeys creates the server's SSH host keys on first start and
// loads the same keys on every later start.
package hostkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// Key is one loaded host key.
type Key struct {
	Path   string
	Signer gossh.Signer
}

// Fingerprint is the SHA256 fingerprint as OpenSSH prints it.
func (k Key) Fingerprint() string { return gossh.FingerprintSHA256(k.Signer.PublicKey()) }

// Type is the key algorithm, e.g. "ssh-ed25519".
func (k Key) Type() string { return k.Signer.PublicKey().Type() }

// LoadOrCreate returns the ed25519 and RSA host keys in dir, creating any that
// are missing with mode 0600 (dir itself 0700).
func LoadOrCreate(dir string) ([]Key, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host key dir %s: %w", dir, err)
	}
	specs := []struct {
		file string
		gen  func() (any, error)
	}{
		{"ssh_host_ed25519_key", func() (any, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }},
		{"ssh_host_rsa_key", func() (any, error) { return rsa.GenerateKey(rand.Reader, 3072) }},
	}
	var keys []Key
	for _, s := range specs {
		path := filepath.Join(dir, s.file)
		signer, err := load(path)
		if errors.Is(err, fs.ErrNotExist) {
			signer, err = create(path, s.gen)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, Key{Path: path, Signer: signer})
	}
	return keys, nil
}

func load(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}

func create(path string, gen func() (any, error)) (gossh.Signer, error) {
	priv, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generate host key %s: %w", path, err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "termhost host key")
	if err != nil {
		return nil, fmt.Errorf("encode host key %s: %w", path, err)
	}
	// Write then rename, so a crash never leaves a half-written key.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("write host key %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write host key %s: %w", path, err)
	}
	return load(path)
}
