package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"termhost/config"
	"termhost/seal"
)

const keysUsage = `usage: termhost keys list [--json]
       termhost keys rotate
       termhost keys retire ID
       termhost keys generate
`

// ringWatchEvery is how often a running server reads DATA/secrets again,
// so that `keys rotate` and `keys retire` reach it without a restart.
const ringWatchEvery = 2 * time.Second

// keysCmd manages the seal key ring in DATA/secrets (SPEC §10): list it,
// rotate (a new first key seals from now on; the others still open), retire
// a key (its seals — login cookies, workspace tickets — stop opening), or
// generate an entry for config seal_keys. A running server reads the ring
// again within ringWatchEvery. With seal_keys in the config the ring lives
// there: list shows it, rotate and retire refuse and say what to edit. On
// a shared store without seal_keys they refuse too (ErrClusterNeedsKeys):
// one node's ring is not the cluster's.
// Secrets are never printed, except by generate, whose output is a secret.
func keysCmd(args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	cfg, pos, fs, err := resolve("keys", args, false, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON (list)")
	})
	if err != nil {
		return failResolve(err, keysUsage, fs, stdout, stderr)
	}
	switch {
	case len(pos) == 1 && pos[0] == "help":
		fmt.Fprint(stdout, flagHelp(keysUsage, fs))
		return 0
	case len(pos) == 1 && (pos[0] == "list" || pos[0] == "ls" || pos[0] == "rotate" || pos[0] == "generate"):
	case len(pos) == 2 && pos[0] == "retire":
	default:
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	if err := runKeys(cfg, pos, asJSON, stdout); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// errKeysInConfig: rotate/retire asked while the ring comes from seal_keys.
var errKeysInConfig = errors.New("the key ring comes from seal_keys in the config")

func runKeys(cfg config.Config, pos []string, asJSON bool, w io.Writer) error {
	dir := secretsDir(cfg)
	fromConfig := len(cfg.SealKeys) > 0
	switch pos[0] {
	case "generate":
		k, err := seal.NewKey(time.Now())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, seal.FormatKey(k))
		return err
	case "rotate", "retire":
		if ownRing(cfg) {
			// The other nodes would keep sealing with the old key, or stop
			// opening this one's seals (SPEC §10: every node the same).
			return fmt.Errorf("keys %s %w: put seal_keys in every node's config (termhost keys generate prints an entry) and restart them", pos[0], ErrClusterNeedsKeys)
		}
	}
	switch pos[0] {
	case "rotate":
		if fromConfig {
			return fmt.Errorf("%w: put a new entry first in seal_keys on every node (termhost keys generate prints one) and restart them", errKeysInConfig)
		}
		k, err := seal.Rotate(dir, time.Now())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "new sealing key %s; older keys still open their seals until retired (a running server reads %s within %v)\n",
			k.ID, dir, ringWatchEvery)
		return err
	case "retire":
		if fromConfig {
			return fmt.Errorf("%w: remove the entry %s from seal_keys on every node and restart them", errKeysInConfig, pos[1])
		}
		if err := seal.Retire(dir, pos[1]); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "retired key %s: the login cookies and workspace tickets it sealed no longer open\n", pos[1])
		return err
	}
	if fromConfig {
		return listKeys(parseConfigKeys(cfg), "config seal_keys", asJSON, w)
	}
	keys, err := seal.ReadKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no key ring in %s yet: serve makes one at first start, or run termhost keys rotate", dir)
	}
	if err != nil {
		return err
	}
	return listKeys(keys, dir, asJSON, w)
}

// keyJSON is one element of `keys list --json`; the secret is never shown.
type keyJSON struct {
	ID      string     `json:"id"`
	Created *time.Time `json:"created,omitempty"` // absent for config keys
	Seals   bool       `json:"seals"`             // the first key: it makes new seals
	Source  string     `json:"source"`            // the secrets dir, or "config seal_keys"
}

func listKeys(keys []seal.Key, source string, asJSON bool, w io.Writer) error {
	out := make([]keyJSON, 0, len(keys))
	for i, k := range keys {
		j := keyJSON{ID: k.ID, Seals: i == 0, Source: source}
		if !k.Created.IsZero() {
			c := k.Created
			j.Created = &c
		}
		out = append(out, j)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tCREATED\tUSE\t(%s)\n", source)
	for _, k := range out {
		created, use := "-", "opens"
		if k.Created != nil {
			created = k.Created.Local().Format(time.DateTime)
		}
		if k.Seals {
			use = "seals and opens"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", k.ID, created, use)
	}
	return tw.Flush()
}

// parseConfigKeys reads seal_keys, which config.Validate has checked.
func parseConfigKeys(cfg config.Config) []seal.Key {
	keys, _ := seal.ParseKeys(cfg.SealKeys)
	return keys
}

// secretsDir is DATA/secrets, where the ring lives without seal_keys.
func secretsDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "secrets") }

// watchRing keeps a ring read from DATA/secrets current while ctx lives,
// so `termhost keys rotate|retire` reach the running server; a ring from
// seal_keys or a memory node (no secrets dir) is left as it is.
func watchRing(ctx context.Context, cfg config.Config, ring *seal.Ring, log *slog.Logger) {
	if len(cfg.SealKeys) > 0 || inMemory(cfg) {
		return
	}
	dir := secretsDir(cfg)
	var last string // the watch goroutine's own: one log line per new error
	go ring.Watch(ctx, dir, ringWatchEvery, func(err error) {
		if err.Error() != last {
			last = err.Error()
			log.Warn("seal key ring not re-read; keeping the keys loaded", "dir", dir, "err", err)
		}
	})
}

// sealedLogins is the ring web logins seal with: the seal ring under
// web_login: client (SPEC §10), nil (tokens in the store) under server.
func sealedLogins(cfg config.Config, ring *seal.Ring) *seal.Ring {
	if cfg.WebLogin == "client" {
		return ring
	}
	return nil
}
