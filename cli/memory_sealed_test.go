package cli

import (
	"context"
	"testing"
	"time"

	"termhost/config"
	"termhost/persist/memory"
)

// TestConfigUsersSameAccountAfterRestart: a config user has the same
// creation time at every start of a memory node, so its sealed login
// cookies (bound to the account's creation, web_login: client) survive a
// restart, as its workspace tickets do (SPEC §10).
func TestConfigUsersSameAccountAfterRestart(t *testing.T) {
	cfg := config.Default()
	cfg.Store = storeMemory
	cfg.Users = []config.User{{Name: "alice", PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}
	ctx := context.Background()
	var created []int64
	for i := range 2 { // two starts, an hour apart on the store's clock
		start := time.Date(2026, 11, 30, 9+i, 0, 0, 0, time.UTC)
		st := memory.New(func() time.Time { return start })
		if err := loadConfigUsers(ctx, cfg, st); err != nil {
			t.Fatal(err)
		}
		u, err := st.GetUser(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, u.CreatedAt.UnixMilli())
		st.Close()
	}
	if created[0] != created[1] {
		t.Fatalf("alice created at %d, then at %d after a restart", created[0], created[1])
	}
}
