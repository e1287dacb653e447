package hostkeys

import (
	"context"
	"fmt"
	"os"
)

// Secrets is the part of the store Share uses (persist.Secrets).
type Secrets interface {
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Share makes every node of a cluster present the same host keys (SPEC
// §6): each key of this node is offered to the store under
// "ssh_host_key/<file name>"; the first node's value wins, and a node whose
// file differs replaces it with the stored key (written then renamed,
// 0600), so its next start, with or without the store, presents it too.
// It returns the keys the node must present.
func Share(ctx context.Context, secrets Secrets, keys []Key) ([]Key, error) {
	out := make([]Key, 0, len(keys))
	for _, k := range keys {
		local, err := os.ReadFile(k.Path)
		if err != nil {
			return nil, fmt.Errorf("share host key %s: %w", k.Path, err)
		}
		stored, err := secrets.EnsureSecret(ctx, "ssh_host_key/"+baseName(k.Path), local)
		if err != nil {
			return nil, fmt.Errorf("share host key %s: %w", k.Path, err)
		}
		if string(stored) != string(local) {
			tmp := k.Path + ".tmp"
			if err := os.WriteFile(tmp, stored, 0o600); err != nil {
				return nil, fmt.Errorf("adopt the cluster's host key %s: %w", k.Path, err)
			}
			if err := os.Rename(tmp, k.Path); err != nil {
				return nil, fmt.Errorf("adopt the cluster's host key %s: %w", k.Path, err)
			}
		}
		signer, err := load(k.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, Key{Path: k.Path, Signer: signer})
	}
	return out, nil
}

func baseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}
