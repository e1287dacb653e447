package auth_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"termhost/auth"
	"termhost/persist"
	"termhost/persist/sqlite"
)

// Two nodes (two Authenticators, each on its own handle of one database)
// racing loopback signups make exactly one admin: the rule lives in the
// store's transaction, not in a process mutex (SPEC §6).
func TestSignupRaceTwoNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termhost.db")
	var nodes []*auth.Authenticator
	var first *sqlite.Store
	for range 2 {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		first = st
		nodes = append(nodes, &auth.Authenticator{Users: st, AllowSignup: true})
	}
	const racers = 12
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			if _, err := nodes[i%2].Signup(context.Background(), fmt.Sprintf("racer%d", i), auth.NormalizeKey(newKey(t)), "", loopback); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	users, err := first.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	admins := 0
	for _, u := range users {
		if u.Role == persist.RoleAdmin {
			admins++
		}
	}
	if len(users) != racers || admins != 1 {
		t.Errorf("%d users, %d admins; want %d users and exactly 1 admin", len(users), admins, racers)
	}
}
