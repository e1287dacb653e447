package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestUsersFromFile: the `users` list of the config file (SPEC §10
// storage-less node) and its errors, each naming its line.
func TestUsersFromFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []User
		err  string
	}{
		{name: "full", yaml: "store: memory\nusers:\n  - name: alice\n    role: admin\n    keys: [\"ssh-ed25519 AAAA a@b\"]\n    password_hash: \"$argon2id$x\"\n  - name: bob\n    password_hash: \"$argon2id$y\"\n",
			want: []User{{Name: "alice", Role: "admin", Keys: []string{"ssh-ed25519 AAAA a@b"}, PasswordHash: "$argon2id$x"}, {Name: "bob", PasswordHash: "$argon2id$y"}}},
		{name: "misspelt field", yaml: "users:\n  - name: alice\n    pasword_hash: x\n", err: `line 3: users: unknown field "pasword_hash"`},
		{name: "not a list", yaml: "users: alice\n", err: "users: want a list"},
		{name: "item not a mapping", yaml: "users:\n  - alice\n", err: "line 2: users: want a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			err := decodeFile(&c, []byte(tt.yaml), nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Users, tt.want) {
				t.Fatalf("users %+v, want %+v", c.Users, tt.want)
			}
		})
	}
	t.Run("not from the environment", func(t *testing.T) {
		c := Default()
		if err := setKey(&c, "users", "alice"); err == nil || !strings.Contains(err.Error(), "config file only") {
			t.Fatalf("setKey(users) = %v, want the config-file-only error", err)
		}
	})
}
