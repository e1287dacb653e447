package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"termhost/config"
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
