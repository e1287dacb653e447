package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// User is one account of the config file's `users` list: the accounts of
// a storage-less node (`--store memory`, SPEC §10), which has no disk to
// keep `termhost user add`'s work on. In YAML:
//
//	users:
//	  - name: alice
//	    role: admin              # user (default) or admin
//	    keys: ["ssh-ed25519 AAAA… alice@laptop"]
//	    password_hash: "$argon2id$v=19$m=…"   # `termhost hash-password` prints one
//
// A user needs at least one key or a password hash.
type User struct {
	Name         string   `yaml:"name"`
	Role         string   `yaml:"role"`
	Keys         []string `yaml:"keys"`
	PasswordHash string   `yaml:"password_hash"`
}

// decodeUsers reads the `users` sequence; unknown fields are errors, so a
// misspelt "pasword_hash" does not leave an account without a password.
func decodeUsers(v *yaml.Node) ([]User, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: users: want a list of {name, role, keys, password_hash}", v.Line)
	}
	out := make([]User, 0, len(v.Content))
	for _, it := range v.Content {
		if it.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: users: want a mapping with name, role, keys, password_hash", it.Line)
		}
		for i := 0; i+1 < len(it.Content); i += 2 {
			switch k := it.Content[i]; k.Value {
			case "name", "role", "keys", "password_hash":
			default:
				return nil, fmt.Errorf("line %d: users: unknown field %q (want name, role, keys, password_hash)", k.Line, k.Value)
			}
		}
		var u User
		if err := it.Decode(&u); err != nil {
			return nil, fmt.Errorf("line %d: users: %w", it.Line, err)
		}
		out = append(out, u)
	}
	return out, nil
}
