package persisttest

import (
	"testing"

	"termhost/persist"
)

// testLoginGen: the user's login generation (SPEC §10, web_login: client)
// starts at 0, is written by UpdateUser and only grows, so an update built
// from a stale read (a password change racing "sign out everywhere") cannot
// bring back the sealed logins the bump ended.
func testLoginGen(t *testing.T, fresh opener) {
	tests := []struct {
		name    string
		updates []int64
		want    int64
	}{
		{"new account", nil, 0},
		{"bumped", []int64{1}, 1},
		{"bumped twice", []int64{1, 2}, 2},
		{"stale update keeps the larger", []int64{3, 1}, 3},
		{"update without it keeps it", []int64{5, 0}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			u := persist.User{Name: "alice", Role: persist.RoleUser, CreatedAt: t0}
			noErr(t, s.CreateUser(t.Context(), u), "CreateUser")
			for _, g := range tc.updates {
				u.LoginGen = g
				noErr(t, s.UpdateUser(t.Context(), u), "UpdateUser")
			}
			got, err := s.GetUser(t.Context(), "alice")
			noErr(t, err, "GetUser")
			if got.LoginGen != tc.want {
				t.Fatalf("LoginGen = %d, want %d", got.LoginGen, tc.want)
			}
			list, err := s.ListUsers(t.Context())
			noErr(t, err, "ListUsers")
			if len(list) != 1 || list[0].LoginGen != tc.want {
				t.Fatalf("ListUsers LoginGen = %+v, want %d", list, tc.want)
			}
		})
	}
}
