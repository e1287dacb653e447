package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/auth"
	"termhost/persist"
)

// Two `keys del` at once must not lose one's update: each read-modify-write
// of the account is serialised (found by an attack trial: both answered
// "deleted" and one key stayed).
func TestConcurrentKeyDeletesBothLand(t *testing.T) {
	ctx := context.Background()
	for round := range 20 {
		st := newStore(t)
		a := &auth.Authenticator{Users: st}
		keys := []string{auth.NormalizeKey(newKey(t)), auth.NormalizeKey(newKey(t)), auth.NormalizeKey(newKey(t))}
		createUser(t, st, persist.User{Name: "kim", Role: persist.RoleUser, Keys: keys})
		var wg sync.WaitGroup
		for _, k := range keys[:2] {
			wg.Go(func() {
				if _, err := a.DeleteKey(ctx, st, "kim", k); err != nil {
					t.Errorf("round %d: delete: %v", round, err)
				}
			})
		}
		wg.Wait()
		u, err := st.GetUser(ctx, "kim")
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Keys) != 1 || u.Keys[0] != keys[2] {
			t.Fatalf("round %d: keys left %d, want only the third", round, len(u.Keys))
		}
	}
}

func TestKeysPerAccountCapped(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	a := &auth.Authenticator{Users: st}
	createUser(t, st, persist.User{Name: "kim", Role: persist.RoleUser})
	for i := range auth.MaxKeys {
		if _, err := a.AddKey(ctx, st, "kim", string(gossh.MarshalAuthorizedKey(newKey(t)))); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	_, err := a.AddKey(ctx, st, "kim", string(gossh.MarshalAuthorizedKey(newKey(t))))
	if !errors.Is(err, auth.ErrTooManyKeys) {
		t.Fatalf("key %d: err %v, want ErrTooManyKeys", auth.MaxKeys+1, err)
	}
}

// A huge user name is refused before it reaches the log whole (attack
// trial: a 250 KB name made 500 KB log lines, before any authentication).
func TestHugeUserNameLoggedShort(t *testing.T) {
	var logBuf bytes.Buffer
	st := newStore(t)
	a := &auth.Authenticator{Users: st, AllowSignup: true, Log: slog.New(slog.NewTextHandler(&logBuf, nil))}
	name := strings.Repeat("b", 250_000)
	_, err := a.Login(context.Background(), auth.LoginRequest{Transport: "ssh", User: name, Password: "x"})
	if !errors.Is(err, auth.ErrBadName) {
		t.Fatalf("err %v, want ErrBadName", err)
	}
	if logBuf.Len() > 1024 {
		t.Fatalf("log line of %d bytes for a %d-byte name", logBuf.Len(), len(name))
	}
	if !strings.Contains(logBuf.String(), "login failed") {
		t.Fatalf("failure not logged: %q", logBuf.String())
	}
}
