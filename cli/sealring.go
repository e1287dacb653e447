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

// ErrClusterNeedsKeys (its text follows what is refused, e.g.
// "web_login: client in a cluster needs …"): a node on a shared store (PostgreSQL, SPEC §6)
// without seal_keys was asked to seal what another node must open. Each
// node's DATA/secrets ring is its own, and seal keys are never put in the
// store (a copy of the database would forge admin sign-ins), so sealed
// logins and rotation need seal_keys, the same on every node.
var ErrClusterNeedsKeys = errors.New("in a cluster needs seal_keys, the same on every node")

// ownRing reports whether cfg is a cluster node sealing with its own
// DATA/secrets ring (shared store, no seal_keys): its seals open on no
// other node.
func ownRing(cfg config.Config) bool { return shared(cfg) && len(cfg.SealKeys) == 0 }

// checkClusterSeal refuses at startup what a node with its own ring cannot
// do (SPEC §10 "all cluster nodes the same"): web_login: client, whose
// cookie another node behind the load balancer must open. Errors wrap
// ErrClusterNeedsKeys.
func checkClusterSeal(cfg config.Config) error {
	if ownRing(cfg) && cfg.WebLogin == "client" {
		return fmt.Errorf("web_login: client %w (`termhost keys generate` prints an entry; or use web_login: server)", ErrClusterNeedsKeys)
	}
	return nil
}

// ticketsOn reports whether web pages get workspace tickets (SPEC §10).
// Not on a node with its own ring: the shared durable store already keeps
// every session for every node, and a ticket sealed with one node's keys
// would be refused by the next node with a confusing message.
func ticketsOn(cfg config.Config) bool { return !ownRing(cfg) }
