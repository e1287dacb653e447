package cli

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"termhost/config"
)

// TestClusterWithoutSealKeys (issue 12 findings 1+2): seal keys never go
// into a shared store, so a cluster node without seal_keys refuses
// web_login: client at startup, sends no workspace tickets and refuses
// keys rotate|retire, each with the advice to set seal_keys.
func TestClusterWithoutSealKeys(t *testing.T) {
	const pg = "postgres://termhost@127.0.0.1:1/nowhere" // never dialled: the check comes first
	key := "k1:" + strings.Repeat("A", 43) + "="
	tests := []struct {
		name        string
		store       string
		webLogin    string
		sealKeys    []string
		wantRefused bool // serve refuses to start
		wantTickets bool
	}{
		{name: "cluster, client logins, no seal_keys", store: pg, webLogin: "client", wantRefused: true},
		{name: "cluster, server logins, no seal_keys", store: pg, webLogin: "server", wantTickets: false},
		{name: "cluster with seal_keys", store: pg, webLogin: "client", sealKeys: []string{key}, wantTickets: true},
		{name: "sqlite node, own ring", store: "", webLogin: "client", wantTickets: true},
		{name: "memory node", store: "memory", webLogin: "client", sealKeys: []string{key}, wantTickets: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			cfg.Store, cfg.WebLogin, cfg.SealKeys = tt.store, tt.webLogin, tt.sealKeys
			err := checkClusterSeal(cfg)
			if got := errors.Is(err, ErrClusterNeedsKeys); got != tt.wantRefused {
				t.Fatalf("checkClusterSeal: %v, refused %v wanted", err, tt.wantRefused)
			}
			if tt.wantRefused {
				if want := "web_login: client in a cluster needs seal_keys, the same on every node"; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
				// serve itself refuses, before it opens the store.
				runErr := run(t.Context(), cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if !errors.Is(runErr, ErrClusterNeedsKeys) {
					t.Fatalf("run: %v, want ErrClusterNeedsKeys", runErr)
				}
				return
			}
			if got := ticketsOn(cfg); got != tt.wantTickets {
				t.Errorf("ticketsOn = %v, want %v", got, tt.wantTickets)
			}
		})
	}
}

// TestKeysRotateRefusedInCluster: on a shared store without seal_keys,
// rotate and retire would change one node's ring only; they refuse and
// say to set seal_keys. list still works on the node's own ring.
func TestKeysRotateRefusedInCluster(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if _, err := sealRing(cfg); err != nil { // the node's own ring
		t.Fatal(err)
	}
	cfg.Store = "postgres://termhost@127.0.0.1:1/nowhere"
	tests := []struct {
		name    string
		args    []string
		refused bool
	}{
		{name: "rotate", args: []string{"rotate"}, refused: true},
		{name: "retire", args: []string{"retire", "k1"}, refused: true},
		{name: "list", args: []string{"list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := runKeys(cfg, tt.args, false, &out)
			if got := errors.Is(err, ErrClusterNeedsKeys); got != tt.refused {
				t.Fatalf("keys %v: %v (out %q), refused %v wanted", tt.args, err, out.String(), tt.refused)
			}
			if tt.refused && !strings.Contains(err.Error(), "seal_keys") {
				t.Errorf("refusal gives no advice: %v", err)
			}
		})
	}
}
