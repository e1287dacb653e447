package seal

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzOpen: Open never panics, returns one of the package's errors, and never
// returns a payload over MaxPayload. Seeds (testdata/fuzz/FuzzOpen) include
// valid seals of fuzzRing, so mutations explore past the AEAD check's header.
func FuzzOpen(f *testing.F) {
	r := fuzzRing(f)
	for _, p := range []string{"", "x", `{"user":"alice","role":"user","gen":1}`} {
		s, err := r.Seal("login", []byte(p), 100*365*24*time.Hour)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("login", s)
	}
	f.Fuzz(func(t *testing.T, purpose, sealed string) {
		p, err := r.Open(purpose, sealed)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(p) > MaxPayload {
			t.Fatalf("payload of %d bytes", len(p))
		}
		// Whatever opened must seal and open again the same.
		again, err := r.Seal(purpose, p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := r.Open(purpose, again); err != nil || string(q) != string(p) {
			t.Fatalf("re-seal round trip: %v", err)
		}
	})
}

func fuzzRing(tb testing.TB) *Ring {
	r, err := NewRing([]Key{fixedKey("0a0b0c0d", 1), fixedKey("0a0b0c0e", 2)}, func() time.Time { return t0 })
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestWriteFuzzSeeds rewrites the committed corpus testdata/fuzz/FuzzOpen when
// SEAL_WRITE_SEEDS=1: valid seals of several purposes and sizes, an expired
// one, one of an unknown key, a bomb, and a truncated and a flipped seal.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("SEAL_WRITE_SEEDS") != "1" {
		t.Skip("set SEAL_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	r := fuzzRing(t)
	long := 100 * 365 * 24 * time.Hour
	seal := func(purpose, payload string, ttl time.Duration) string {
		s, err := r.Seal(purpose, []byte(payload), ttl)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, _ := NewRing([]Key{fixedKey("ffff0000", 5)}, func() time.Time { return t0 })
	unknown, _ := other.Seal("login", []byte("x"), long)
	var plain bytes.Buffer
	var times [timesSize]byte
	binary.BigEndian.PutUint64(times[8:], uint64(t0.Add(long).UnixMilli()))
	plain.Write(times[:])
	zw, _ := flate.NewWriter(&plain, flate.BestCompression)
	zw.Write(make([]byte, 5<<20))
	zw.Close()
	login := seal("login", `{"user":"alice","role":"admin","gen":7}`, long)
	flipped := []byte(login)
	flipped[40] ^= 1
	seeds := map[string][2]string{
		"login":       {"login", login},
		"link":        {"link", seal("link", `{"user":"bob","session":"abcdefgh"}`, long)},
		"workspace":   {"workspace:abcdef", seal("workspace:abcdef", strings.Repeat(`{"app":"notes","text":"hello"}`, 300), long)},
		"empty":       {"login", seal("login", "", long)},
		"expired":     {"login", seal("login", "old", time.Millisecond)},
		"unknown-key": {"login", unknown},
		"bomb":        {"workspace:x", sealPlain(r, "workspace:x", plain.Bytes())},
		"truncated":   {"login", login[:len(login)-5]},
		"flipped":     {"login", string(flipped)},
		"garbage":     {"login", "not a seal"},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\nstring(%q)\n", s[0], s[1])
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
