package persisttest

import (
	"testing"
	"time"

	"termhost/persist"
)

// testSweepFilters covers the filters the policy sweep uses and HasAdmin.
func testSweepFilters(t *testing.T, fresh opener) {
	s := fresh(t)
	ctx := t.Context()
	mk := func(name, state string, created, detached time.Time) string {
		id := newID()
		noErr(t, s.CreateSession(ctx, persist.Session{ID: id, Owner: "ann", Name: name, State: state,
			CreatedAt: created, LastInputAt: created, DetachedAt: detached, Epoch: 1}, 0), "CreateSession")
		return id
	}
	old := mk("old", persist.StateHibernated, t0, t0.Add(time.Hour))
	fresh1 := mk("fresh", persist.StateHibernated, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	mk("attached", persist.StateAttached, t0, time.Time{})
	tests := []struct {
		name string
		f    persist.SessionFilter
		want []string
	}{
		{"detached before", persist.SessionFilter{State: persist.StateHibernated, DetachedBefore: t0.Add(2 * time.Hour)}, []string{old}},
		{"detached before both", persist.SessionFilter{State: persist.StateHibernated, DetachedBefore: t0.Add(4 * time.Hour)}, []string{old, fresh1}},
		{"never detached is not due", persist.SessionFilter{DetachedBefore: t0.Add(10 * time.Hour)}, []string{old, fresh1}},
		{"created before", persist.SessionFilter{State: persist.StateHibernated, CreatedBefore: t0.Add(time.Hour)}, []string{old}},
		{"none due", persist.SessionFilter{State: persist.StateHibernated, CreatedBefore: t0.Add(-time.Hour)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListSessions(ctx, tc.f)
			noErr(t, err, "ListSessions")
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.ID] = true
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d sessions, want %d", len(got), len(tc.want))
			}
			for _, id := range tc.want {
				if !ids[id] {
					t.Errorf("missing %s", id)
				}
			}
		})
	}
	t.Run("HasAdmin", func(t *testing.T) {
		has, err := s.HasAdmin(ctx)
		noErr(t, err, "HasAdmin")
		if has {
			t.Fatal("HasAdmin on a store without users")
		}
		noErr(t, s.CreateUser(ctx, persist.User{Name: "u", Role: persist.RoleUser}), "CreateUser")
		if has, _ = s.HasAdmin(ctx); has {
			t.Fatal("HasAdmin with only a user")
		}
		noErr(t, s.CreateUser(ctx, persist.User{Name: "a", Role: persist.RoleAdmin}), "CreateUser")
		if has, _ = s.HasAdmin(ctx); !has {
			t.Fatal("HasAdmin false with an admin")
		}
		noErr(t, s.DeleteUser(ctx, "a"), "DeleteUser")
		if has, _ = s.HasAdmin(ctx); has {
			t.Fatal("HasAdmin true after the admin was deleted")
		}
	})
}
