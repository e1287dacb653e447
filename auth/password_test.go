package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"termhost/auth"
)

func TestHashAndVerify(t *testing.T) {
	h, err := auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the default parameters", h)
	}
	if h2, _ := auth.HashPassword("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{name: "right", password: "correct horse", want: true},
		{name: "wrong", password: "correct horse!"},
		{name: "empty", password: ""},
		{name: "case matters", password: "Correct horse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(h, tt.password)
			if err != nil || ok != tt.want {
				t.Errorf("VerifyPassword = %v, %v; want %v, nil", ok, err, tt.want)
			}
		})
	}
}

// Hashes whose fields were changed: malformed ones are ErrBadHash; ones
// that still parse simply do not match.
func TestVerifyTamperedHash(t *testing.T) {
	h, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct {
		name    string
		hash    string
		wantErr bool // ErrBadHash; otherwise a clean mismatch
	}{
		{name: "empty", hash: "", wantErr: true},
		{name: "bcrypt", hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", wantErr: true},
		{name: "argon2i", hash: with(1, "argon2i"), wantErr: true},
		{name: "too few fields", hash: strings.Join(parts[:5], "$"), wantErr: true},
		{name: "too many fields", hash: h + "$extra", wantErr: true},
		{name: "other version", hash: with(2, "v=16"), wantErr: true},
		{name: "version not a number", hash: with(2, "v=x"), wantErr: true},
		{name: "params missing", hash: with(3, "m=19456"), wantErr: true},
		{name: "negative memory", hash: with(3, "m=-1,t=2,p=1"), wantErr: true},
		{name: "zero threads", hash: with(3, "m=19456,t=2,p=0"), wantErr: true},
		{name: "threads overflow", hash: with(3, "m=19456,t=2,p=256"), wantErr: true},
		{name: "memory over the cap", hash: with(3, fmt.Sprintf("m=%d,t=2,p=1", 1<<20+1)), wantErr: true},
		{name: "passes over the cap", hash: with(3, "m=19456,t=17,p=1"), wantErr: true},
		{name: "salt not base64", hash: with(4, "!!!"), wantErr: true},
		{name: "key not base64", hash: with(5, "!!!"), wantErr: true},
		{name: "empty key", hash: with(5, ""), wantErr: true},
		{name: "key too long", hash: with(5, strings.Repeat("A", 200)), wantErr: true},
		{name: "other passes", hash: with(3, "m=19456,t=3,p=1")},
		{name: "other memory", hash: with(3, "m=8192,t=2,p=1")},
		{name: "other salt", hash: with(4, "c2FsdHNhbHRzYWx0c2FsdA")},
		{name: "shorter key", hash: with(5, parts[5][:20])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(tt.hash, "pw")
			if ok {
				t.Fatalf("VerifyPassword(%q) matched", tt.hash)
			}
			if got := errors.Is(err, auth.ErrBadHash); got != tt.wantErr {
				t.Errorf("VerifyPassword(%q) error = %v, want ErrBadHash: %v", tt.hash, err, tt.wantErr)
			}
		})
	}
}

// Parameters that argon2 cannot or should not run with must be refused
// before any work is done.
func TestVerifyRefusesUnsafeParams(t *testing.T) {
	tests := []struct {
		name   string
		params string
	}{
		{name: "zero passes", params: "m=19456,t=0,p=1"},
		{name: "a gibibyte of memory", params: fmt.Sprintf("m=%d,t=16,p=255", 1<<20)},
		{name: "trailing garbage", params: "m=19456,t=2,p=1junk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := "$argon2id$v=19$" + tt.params + "$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			if _, err := auth.VerifyPassword(hash, "pw"); !errors.Is(err, auth.ErrBadHash) {
				t.Errorf("VerifyPassword with %s = %v, want ErrBadHash", tt.params, err)
			}
		})
	}
}

// FuzzVerifyPassword: no stored hash string makes verification panic.
// Inputs asking for more argon2 work than a fuzz run can afford are
// skipped; TestVerifyRefusesUnsafeParams covers the bounds themselves.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "pw")
	f.Fuzz(func(t *testing.T, hash, password string) {
		if expensive(hash) {
			t.Skip("parameters too costly for fuzzing")
		}
		ok, err := auth.VerifyPassword(hash, password)
		if err != nil && ok {
			t.Fatalf("VerifyPassword(%q) = true with error %v", hash, err)
		}
	})
}

// expensive reports whether hash's parameters, as VerifyPassword would
// read them, ask for over 1 MiB or 2 passes.
func expensive(hash string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false
	}
	var m, tm uint64
	var p uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		return false
	}
	return m > 1024 || tm > 2 || p > 8
}
