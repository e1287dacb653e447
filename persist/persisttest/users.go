package persisttest

import (
	"context"
	"slices"
	"testing"

	"termhost/persist"
)

func testUsers(t *testing.T, fresh opener) {
	alice := persist.User{
		Name:         "alice",
		Role:         persist.RoleAdmin,
		Keys:         []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQAlice"},
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		CreatedAt:    t0,
	}

	t.Run("CreateGet", func(t *testing.T) {
		s := fresh(t)
		noErr(t, s.CreateUser(t.Context(), alice), "CreateUser")
		got, err := s.GetUser(t.Context(), "alice")
		noErr(t, err, "GetUser")
		checkUser(t, got, alice)
	})

	t.Run("DuplicateExists", func(t *testing.T) {
		s := fresh(t)
		noErr(t, s.CreateUser(t.Context(), alice), "CreateUser")
		dup := persist.User{Name: "alice", Role: persist.RoleUser, CreatedAt: t0}
		wantErr(t, s.CreateUser(t.Context(), dup), persist.ErrExists, "CreateUser again")
		got, err := s.GetUser(t.Context(), "alice")
		noErr(t, err, "GetUser")
		checkUser(t, got, alice) // the first account is untouched
	})

	t.Run("ListSortedByName", func(t *testing.T) {
		s := fresh(t)
		got, err := s.ListUsers(t.Context())
		noErr(t, err, "ListUsers on empty store")
		if len(got) != 0 {
			t.Fatalf("ListUsers on empty store = %d users, want 0", len(got))
		}
		for _, name := range []string{"carol", "alice", "dave", "bob"} {
			noErr(t, s.CreateUser(t.Context(), persist.User{Name: name, Role: persist.RoleUser, CreatedAt: t0}), "CreateUser "+name)
		}
		got, err = s.ListUsers(t.Context())
		noErr(t, err, "ListUsers")
		var names []string
		for _, u := range got {
			names = append(names, u.Name)
		}
		if want := []string{"alice", "bob", "carol", "dave"}; !slices.Equal(names, want) {
			t.Fatalf("ListUsers names = %q, want %q", names, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := fresh(t)
		noErr(t, s.CreateUser(t.Context(), alice), "CreateUser")
		upd := alice
		upd.Role = persist.RoleUser
		upd.Keys = []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew alice@desk"}
		upd.PasswordHash = ""
		upd.CreatedAt = t0.AddDate(1, 0, 0) // created_at is not mutable
		noErr(t, s.UpdateUser(t.Context(), upd), "UpdateUser")
		got, err := s.GetUser(t.Context(), "alice")
		noErr(t, err, "GetUser")
		want := upd
		want.CreatedAt = alice.CreatedAt
		checkUser(t, got, want)
	})

	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		noErr(t, s.CreateUser(t.Context(), alice), "CreateUser alice")
		noErr(t, s.CreateUser(t.Context(), persist.User{Name: "bob", Role: persist.RoleUser, CreatedAt: t0}), "CreateUser bob")
		noErr(t, s.DeleteUser(t.Context(), "alice"), "DeleteUser")
		_, err := s.GetUser(t.Context(), "alice")
		wantErr(t, err, persist.ErrNotFound, "GetUser after delete")
		got, err := s.ListUsers(t.Context())
		noErr(t, err, "ListUsers")
		if len(got) != 1 || got[0].Name != "bob" {
			t.Fatalf("ListUsers after delete = %+v, want only bob", got)
		}
		// The name is free again.
		noErr(t, s.CreateUser(t.Context(), alice), "CreateUser alice again")
	})

	t.Run("MissingNotFound", func(t *testing.T) {
		tests := []struct {
			name string
			op   func(ctx context.Context, s persist.Store) error
		}{
			{"get", func(ctx context.Context, s persist.Store) error { _, err := s.GetUser(ctx, "nobody"); return err }},
			{"update", func(ctx context.Context, s persist.Store) error {
				return s.UpdateUser(ctx, persist.User{Name: "nobody", Role: persist.RoleUser})
			}},
			{"delete", func(ctx context.Context, s persist.Store) error { return s.DeleteUser(ctx, "nobody") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := fresh(t)
				noErr(t, s.CreateUser(t.Context(), alice), "CreateUser")
				wantErr(t, tt.op(t.Context(), s), persist.ErrNotFound, tt.name+" nobody")
			})
		}
	})

	t.Run("KeysRoundTrip", func(t *testing.T) {
		tests := []struct {
			name string
			keys []string
		}{
			{"nil", nil},
			{"empty", []string{}},
			{"one", []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne"}},
			{"several with odd comments", []string{
				"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo José's \"work\" key",
				"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= a,b;c",
				`ssh-rsa AAAAB3NzaC1yc2E= back\slash	tab`,
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := fresh(t)
				u := persist.User{Name: "keys", Role: persist.RoleUser, Keys: tt.keys, CreatedAt: t0}
				noErr(t, s.CreateUser(t.Context(), u), "CreateUser")
				got, err := s.GetUser(t.Context(), "keys")
				noErr(t, err, "GetUser")
				if !slices.Equal(got.Keys, tt.keys) {
					t.Fatalf("keys = %q, want %q", got.Keys, tt.keys)
				}
			})
		}
	})
}

func checkUser(t *testing.T, got, want persist.User) {
	t.Helper()
	if got.Name != want.Name || got.Role != want.Role || got.PasswordHash != want.PasswordHash {
		t.Errorf("user = {%q %q %q}, want {%q %q %q}", got.Name, got.Role, got.PasswordHash, want.Name, want.Role, want.PasswordHash)
	}
	if !slices.Equal(got.Keys, want.Keys) {
		t.Errorf("user %s keys = %q, want %q", want.Name, got.Keys, want.Keys)
	}
	if !sameMS(got.CreatedAt, want.CreatedAt) {
		t.Errorf("user %s created_at = %v, want %v (to the millisecond)", want.Name, got.CreatedAt, want.CreatedAt)
	}
}
