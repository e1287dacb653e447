package persisttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"termhost/persist"
)

// hashOf stands in for the web package's token hash: 64 hex digits.
func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testLogins(t *testing.T, fresh opener) {
	t.Run("CRUD", func(t *testing.T) { testLoginCRUD(t, fresh(t)) })
	t.Run("Expiry", func(t *testing.T) { testLoginExpiry(t, fresh(t)) })
	t.Run("Links", func(t *testing.T) { testLinks(t, fresh(t)) })
	t.Run("LinkTakenOnce", func(t *testing.T) { testLinkTakenOnce(t, fresh(t)) })
}

func login(user, token string, at time.Time) persist.Login {
	return persist.Login{Hash: hashOf(token), User: user, CreatedAt: at, LastSeen: at,
		IdleUntil: at.Add(time.Hour), ExpiresAt: at.Add(24 * time.Hour), Remote: "127.0.0.1:5000", UserAgent: "Test/1 ✓"}
}

func testLoginCRUD(t *testing.T, s persist.Store) {
	ctx := t.Context()
	a1, a2, b1 := login("alice", "a1", t0), login("alice", "a2", t0.Add(time.Minute)), login("bob", "b1", t0)
	for _, l := range []persist.Login{a1, a2, b1} {
		noErr(t, s.CreateLogin(ctx, l), "CreateLogin "+l.User)
	}
	wantErr(t, s.CreateLogin(ctx, a1), persist.ErrExists, "CreateLogin twice")

	got, err := s.GetLogin(ctx, a1.Hash)
	noErr(t, err, "GetLogin")
	if got.User != a1.User || got.Remote != a1.Remote || got.UserAgent != a1.UserAgent || !sameMS(got.CreatedAt, a1.CreatedAt) ||
		!sameMS(got.LastSeen, a1.LastSeen) || !sameMS(got.IdleUntil, a1.IdleUntil) || !sameMS(got.ExpiresAt, a1.ExpiresAt) {
		t.Fatalf("GetLogin = %+v, want %+v", got, a1)
	}
	_, err = s.GetLogin(ctx, hashOf("nobody"))
	wantErr(t, err, persist.ErrNotFound, "GetLogin unknown")

	later := t0.Add(30 * time.Minute)
	noErr(t, s.TouchLogin(ctx, a1.Hash, later, later.Add(time.Hour)), "TouchLogin")
	got, _ = s.GetLogin(ctx, a1.Hash)
	if !sameMS(got.LastSeen, later) || !sameMS(got.IdleUntil, later.Add(time.Hour)) || !sameMS(got.ExpiresAt, a1.ExpiresAt) {
		t.Fatalf("after TouchLogin = %+v; want last seen %v, idle until %v, expiry unchanged", got, later, later.Add(time.Hour))
	}
	wantErr(t, s.TouchLogin(ctx, hashOf("nobody"), later, later), persist.ErrNotFound, "TouchLogin unknown")

	tests := []struct {
		name string
		user string
		want []string
	}{
		{"one user, newest first", "alice", []string{a2.Hash, a1.Hash}},
		{"other user", "bob", []string{b1.Hash}},
		{"unknown user", "carol", nil},
		{"everyone", "", []string{a2.Hash, a1.Hash, b1.Hash}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := s.ListLogins(ctx, tt.user)
			noErr(t, err, "ListLogins")
			var hashes []string
			for _, l := range ls {
				hashes = append(hashes, l.Hash)
			}
			if tt.user == "" && len(hashes) == 3 && hashes[0] == a2.Hash {
				// a1 and b1 share a creation time: either order is right.
				if hashes[1] == b1.Hash {
					hashes[1], hashes[2] = hashes[2], hashes[1]
				}
			}
			if fmt.Sprint(hashes) != fmt.Sprint(tt.want) {
				t.Fatalf("ListLogins(%q) = %v, want %v", tt.user, hashes, tt.want)
			}
		})
	}

	noErr(t, s.DeleteLogin(ctx, a2.Hash), "DeleteLogin")
	wantErr(t, s.DeleteLogin(ctx, a2.Hash), persist.ErrNotFound, "DeleteLogin twice")
	noErr(t, s.CreateLogin(ctx, login("alice", "a3", t0)), "CreateLogin a3")
	n, err := s.DeleteUserLogins(ctx, "alice")
	noErr(t, err, "DeleteUserLogins")
	if n != 2 {
		t.Fatalf("DeleteUserLogins(alice) = %d, want 2", n)
	}
	if ls, _ := s.ListLogins(ctx, "alice"); len(ls) != 0 {
		t.Fatalf("alice still has %d logins after DeleteUserLogins", len(ls))
	}
	if _, err := s.GetLogin(ctx, b1.Hash); err != nil {
		t.Fatalf("DeleteUserLogins(alice) took bob's login: %v", err)
	}
}

func testLoginExpiry(t *testing.T, s persist.Store) {
	ctx := t.Context()
	idle := login("alice", "idle", t0)
	idle.IdleUntil = t0.Add(time.Minute)
	absolute := login("alice", "absolute", t0)
	absolute.ExpiresAt = t0.Add(2 * time.Minute)
	alive := login("alice", "alive", t0)
	for _, l := range []persist.Login{idle, absolute, alive} {
		noErr(t, s.CreateLogin(ctx, l), "CreateLogin")
	}
	noErr(t, s.CreateLink(ctx, persist.Link{Hash: hashOf("old link"), User: "alice", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}), "CreateLink")

	tests := []struct {
		name    string
		at      time.Time
		removed int
		left    int
	}{
		{"nothing due", t0.Add(30 * time.Second), 0, 3},
		{"idle expiry is exact", t0.Add(time.Minute), 1, 2},
		{"absolute expiry", t0.Add(2 * time.Minute), 1, 1},
		{"again: nothing more", t0.Add(3 * time.Minute), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.DeleteExpiredLogins(ctx, tt.at)
			noErr(t, err, "DeleteExpiredLogins")
			ls, _ := s.ListLogins(ctx, "alice")
			if n != tt.removed || len(ls) != tt.left {
				t.Fatalf("DeleteExpiredLogins(%v) removed %d leaving %d, want %d leaving %d", tt.at.Sub(t0), n, len(ls), tt.removed, tt.left)
			}
		})
	}
	_, err := s.TakeLink(ctx, hashOf("old link"), t0)
	wantErr(t, err, persist.ErrNotFound, "TakeLink of a link the sweep removed")
}

func testLinks(t *testing.T, s persist.Store) {
	ctx := t.Context()
	l := persist.Link{Hash: hashOf("link"), User: "alice", SessionID: newID(), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	noErr(t, s.CreateLink(ctx, l), "CreateLink")
	wantErr(t, s.CreateLink(ctx, l), persist.ErrExists, "CreateLink twice")
	expired := persist.Link{Hash: hashOf("expired"), User: "alice", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	noErr(t, s.CreateLink(ctx, expired), "CreateLink expired")

	tests := []struct {
		name string
		hash string
		at   time.Time
		want error
	}{
		{"first use", l.Hash, t0.Add(59 * time.Second), nil},
		{"second use", l.Hash, t0.Add(59 * time.Second), persist.ErrNotFound},
		{"past expiry", expired.Hash, t0.Add(time.Minute), persist.ErrExpired},
		{"expired one is gone too", expired.Hash, t0, persist.ErrNotFound},
		{"never issued", hashOf("guess"), t0, persist.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.TakeLink(ctx, tt.hash, tt.at)
			if tt.want != nil {
				wantErr(t, err, tt.want, "TakeLink")
				return
			}
			noErr(t, err, "TakeLink")
			if got.User != l.User || got.SessionID != l.SessionID || !sameMS(got.ExpiresAt, l.ExpiresAt) || !sameMS(got.CreatedAt, l.CreatedAt) {
				t.Fatalf("TakeLink = %+v, want %+v", got, l)
			}
		})
	}
	noErr(t, s.CreateLink(ctx, persist.Link{Hash: hashOf("bob's"), User: "bob", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}), "CreateLink bob")
	noErr(t, s.CreateLink(ctx, persist.Link{Hash: hashOf("alice's"), User: "alice", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}), "CreateLink alice")
	if _, err := s.DeleteUserLogins(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	_, err := s.TakeLink(ctx, hashOf("alice's"), t0)
	wantErr(t, err, persist.ErrNotFound, "TakeLink after DeleteUserLogins")
	if _, err := s.TakeLink(ctx, hashOf("bob's"), t0); err != nil {
		t.Fatalf("DeleteUserLogins(alice) took bob's link: %v", err)
	}
}

// testLinkTakenOnce races takers of one link: exactly one wins.
func testLinkTakenOnce(t *testing.T, s persist.Store) {
	ctx := t.Context()
	l := persist.Link{Hash: hashOf("raced"), User: "alice", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	noErr(t, s.CreateLink(ctx, l), "CreateLink")
	const takers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range takers {
		wg.Go(func() {
			if _, err := s.TakeLink(ctx, l.Hash, t0); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of %d concurrent TakeLink calls won, want exactly 1", wins, takers)
	}
}
