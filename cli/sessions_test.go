package cli

import "testing"

func TestOwnFlag(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want bool
	}{
		{"short config", "--config=a", true},
		{"data dir", "--data-dir=/tmp/x", true},
		{"one dash", "-data-dir=d", true},
		{"a verb", "list", false},
		{"a server flag", "--json", false},
		{"flag without value", "--config", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownFlag(tc.arg); got != tc.want {
				t.Errorf("ownFlag(%q) = %v, want %v", tc.arg, got, tc.want)
			}
		})
	}
}
