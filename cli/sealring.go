package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"termhost/config"
	"termhost/hostkeys"
	"termhost/seal"
)

// ErrMemoryNeedsKeys: `--store memory` without `seal_keys` in the config.
// Keys made at every start would break every ticket and sealed login at
// the next restart, which is exactly when a storage-less node needs them.
var ErrMemoryNeedsKeys = errors.New("store memory needs seal_keys in the config file")

// sealRing returns the seal key ring (SPEC §10): config seal_keys when
// given (every node of a cluster the same), else DATA/secrets, made at
// first start. A memory store writes no secrets dir: it requires
// seal_keys (ErrMemoryNeedsKeys).
func sealRing(cfg config.Config) (*seal.Ring, error) {
	if len(cfg.SealKeys) > 0 {
		keys, err := seal.ParseKeys(cfg.SealKeys)
		if err != nil {
			return nil, err
		}
		return seal.NewRing(keys, nil)
	}
	if inMemory(cfg) {
		return nil, fmt.Errorf("%w: add seal_keys: [\"ID:base64secret\"] (`termhost keys generate` prints an entry); "+
			"web sessions come back after a restart only if the keys do", ErrMemoryNeedsKeys)
	}
	return seal.LoadOrCreate(filepath.Join(cfg.DataDir, "secrets"))
}

// shareRing makes the nodes of a cluster that have no seal_keys seal with
// one ring (SPEC §10: every node the same): the first node to start offers
// its DATA/secrets ring to the store, the others adopt it into their own
// file, as with host keys. Later `keys rotate|retire` edit one node's file
// only: a cluster that rotates keys sets seal_keys on every node instead.
func shareRing(ctx context.Context, cfg config.Config, secrets hostkeys.Secrets) (*seal.Ring, error) {
	dir := filepath.Join(cfg.DataDir, "secrets")
	path := filepath.Join(dir, seal.KeyFile)
	local, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("share seal keys: %w", err)
	}
	stored, err := secrets.EnsureSecret(ctx, "seal_ring", local)
	if err != nil {
		return nil, fmt.Errorf("share seal keys: %w", err)
	}
	if !bytes.Equal(stored, local) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, stored, 0o600); err != nil {
			return nil, fmt.Errorf("adopt the cluster's seal keys: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("adopt the cluster's seal keys: %w", err)
		}
	}
	return seal.LoadOrCreate(dir)
}
