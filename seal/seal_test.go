package seal

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func fixedKey(id string, b byte) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte{b}, SecretSize), Created: t0}
}

func testRing(t testing.TB, keys ...Key) (*Ring, *clock) {
	t.Helper()
	if len(keys) == 0 {
		keys = []Key{fixedKey("0a0b0c0d", 1)}
	}
	c := &clock{t: t0}
	r, err := NewRing(keys, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func TestRoundTrip(t *testing.T) {
	r, _ := testRing(t)
	big := bytes.Repeat([]byte(`{"tab":"notes","text":"hello world"}`), 20000)
	rnd := make([]byte, 40000)
	rand.Read(rnd)
	tests := []struct {
		name    string
		purpose string
		payload []byte
	}{
		{"empty", "login", nil},
		{"short", "login", []byte(`{"u":"alice"}`)},
		{"workspace", "workspace:abcdef", big},
		{"incompressible", "link", rnd},
		{"empty purpose", "", []byte("x")},
		{"max payload", "workspace:x", make([]byte, MaxPayload)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := r.Seal(tc.purpose, tc.payload, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(s, "+/=") || len(s) > MaxSealed {
				t.Fatalf("sealed text not unpadded base64url within %d: %d chars", MaxSealed, len(s))
			}
			o, err := r.OpenDetails(tc.purpose, s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.Payload, tc.payload) {
				t.Fatalf("payload differs: got %d bytes, want %d", len(o.Payload), len(tc.payload))
			}
			if !o.Issued.Equal(t0) || !o.Expires.Equal(t0.Add(time.Hour)) || o.KeyID != "0a0b0c0d" {
				t.Fatalf("details %v %v %s", o.Issued, o.Expires, o.KeyID)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	r, _ := testRing(t)
	rnd := make([]byte, 60<<10)
	rand.Read(rnd)
	tests := []struct {
		name    string
		payload []byte
		ttl     time.Duration
		want    error
	}{
		{"payload over 4 MiB", make([]byte, MaxPayload+1), time.Hour, ErrTooLarge},
		{"sealed text over 64 KiB", rnd, time.Hour, ErrTooLarge},
		{"zero ttl", nil, 0, nil},
		{"negative ttl", nil, -time.Second, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Seal("login", tc.payload, tc.ttl)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEveryByteFlipRefused(t *testing.T) {
	r, _ := testRing(t, fixedKey("0a0b0c0d", 1), fixedKey("0a0b0c0e", 2))
	s, err := r.Seal("login", []byte(`{"user":"alice","role":"admin","gen":3}`), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b64.DecodeString(s)
	// Every bit pattern change of every decoded byte, one byte at a time.
	for i := range raw {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			mod := bytes.Clone(raw)
			mod[i] ^= x
			if p, err := r.Open("login", b64.EncodeToString(mod)); err == nil {
				t.Fatalf("byte %d ^ %#x opened: %q", i, x, p)
			}
		}
	}
	// Every character of the text replaced by every other base64url character.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(s) {
		for _, c := range []byte(alphabet + "=+/. ") {
			if c == s[i] {
				continue
			}
			mod := s[:i] + string(c) + s[i+1:]
			if _, err := r.Open("login", mod); err == nil {
				t.Fatalf("char %d → %q opened", i, c)
			}
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	r, c := testRing(t)
	other, _ := testRing(t, fixedKey("11111111", 9))
	s, err := r.Seal("workspace:aaaa", []byte("payload"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Seal("workspace:aaaa", []byte("payload"), time.Minute)
	sameID, _ := testRing(t, fixedKey("0a0b0c0d", 7)) // same id, other secret
	forged, _ := sameID.Seal("workspace:aaaa", []byte("payload"), time.Minute)
	tests := []struct {
		name    string
		purpose string
		text    string
		want    error
	}{
		{"wrong purpose", "workspace:aaab", s, ErrInvalid},
		{"purpose prefix", "workspace:aaa", s, ErrInvalid},
		{"login for workspace", "login", s, ErrInvalid},
		{"unknown key", "workspace:aaaa", foreign, ErrUnknownKey},
		{"same id, other secret", "workspace:aaaa", forged, ErrInvalid},
		{"empty", "workspace:aaaa", "", ErrInvalid},
		{"not base64", "workspace:aaaa", "!!!!", ErrInvalid},
		{"padded", "workspace:aaaa", s + "==", ErrInvalid},
		{"too large", "workspace:aaaa", strings.Repeat("A", MaxSealed+1), ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Open(tc.purpose, tc.text); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		c.add(time.Minute - time.Millisecond)
		if _, err := r.Open("workspace:aaaa", s); err != nil {
			t.Fatalf("1 ms before expiry: %v", err)
		}
		c.add(time.Millisecond)
		if _, err := r.Open("workspace:aaaa", s); !errors.Is(err, ErrExpired) {
			t.Fatalf("at expiry: err = %v, want ErrExpired", err)
		}
	})
}

func TestTruncationRefused(t *testing.T) {
	r, _ := testRing(t)
	s, err := r.Seal("login", bytes.Repeat([]byte("abc"), 100), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(s) {
		if _, err := r.Open("login", s[:n]); err == nil {
			t.Fatalf("prefix of %d/%d chars opened", n, len(s))
		}
	}
	raw, _ := b64.DecodeString(s)
	for n := range len(raw) {
		if _, err := r.Open("login", b64.EncodeToString(raw[:n])); err == nil {
			t.Fatalf("prefix of %d/%d bytes opened", n, len(raw))
		}
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := fixedKey("00000001", 1), fixedKey("00000002", 2)
	r, _ := testRing(t, k1)
	old, _ := r.Seal("login", []byte("old"), time.Hour)
	if err := r.Replace([]Key{k2, k1}); err != nil { // rotate: k2 seals
		t.Fatal(err)
	}
	fresh, _ := r.Seal("login", []byte("new"), time.Hour)
	for _, s := range []string{old, fresh} {
		if _, err := r.Open("login", s); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if o, _ := r.OpenDetails("login", fresh); o.KeyID != "00000002" {
		t.Fatalf("new seal made by %s, want the first key", o.KeyID)
	}
	if err := r.Replace([]Key{k2}); err != nil { // retire k1
		t.Fatal(err)
	}
	if _, err := r.Open("login", old); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after retiring its key: err = %v, want ErrUnknownKey", err)
	}
	if _, err := r.Open("login", fresh); err != nil {
		t.Fatal(err)
	}
}

func TestNewRingRefuses(t *testing.T) {
	tests := []struct {
		name string
		keys []Key
	}{
		{"no keys", nil},
		{"short id", []Key{fixedKey("abc", 1)}},
		{"upper-case id", []Key{fixedKey("0A0B0C0D", 1)}},
		{"non-hex id", []Key{fixedKey("0a0b0c0g", 1)}},
		{"short secret", []Key{{ID: "00000001", Secret: make([]byte, 16)}}},
		{"duplicate id", []Key{fixedKey("00000001", 1), fixedKey("00000001", 2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRing(tc.keys, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// sealPlain seals an arbitrary plaintext (times ‖ compressed body) with r's
// first key, as a buggy or compromised sealer could.
func sealPlain(r *Ring, purpose string, plain []byte) string {
	k := r.keys.Load().ordered[0]
	out := make([]byte, headerSize+NonceSize)
	out[0] = Version
	copy(out[1:], k.id[:])
	rand.Read(out[headerSize:])
	out = k.aead.Seal(out, out[headerSize:], plain, additionalData(out[:headerSize], purpose))
	return b64.EncodeToString(out)
}

func TestDecompressionBombRefusedQuickly(t *testing.T) {
	r, _ := testRing(t)
	var plain bytes.Buffer
	var times [timesSize]byte
	binary.BigEndian.PutUint64(times[8:], uint64(t0.Add(time.Hour).UnixMilli()))
	plain.Write(times[:])
	zw, _ := flate.NewWriter(&plain, flate.BestSpeed)
	zw.Write(make([]byte, 32<<20)) // 32 MiB of zeros: 8× the cap
	zw.Close()
	s := sealPlain(r, "workspace:x", plain.Bytes())
	if len(s) > MaxSealed {
		t.Fatalf("bomb of %d chars does not fit a seal", len(s))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := r.Open("workspace:x", s)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Reading stops at the 4 MiB cap: the buffer grows by doubling to 8 MiB,
	// ≈ 16 MiB allocated in all, where inflating the whole bomb would take
	// ≈ 64 MiB. The time bound only catches a runaway: a few ms idle,
	// seconds under -race on a loaded 2-core machine.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
		t.Fatalf("allocated %d MiB opening a bomb of 32 MiB", alloc>>20)
	}
	if took > 10*time.Second {
		t.Fatalf("took %v", took)
	}
	t.Logf("bomb of %d chars refused in %v", len(s), took)

	t.Run("not deflate", func(t *testing.T) {
		bad := sealPlain(r, "login", append(times[:], 0xff, 0xff, 0xff))
		if _, err := r.Open("login", bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	})
}

func TestWithClock(t *testing.T) {
	r, _ := testRing(t, fixedKey("00000001", 1))
	later := t0.Add(48 * time.Hour)
	r2 := r.WithClock(func() time.Time { return later })
	s, err := r.Seal("login", []byte("x"), time.Hour) // expires t0+1h
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Open("login", s); !errors.Is(err, ErrExpired) {
		t.Fatalf("on the later clock: err = %v, want ErrExpired", err)
	}
	if err := r.Replace([]Key{fixedKey("00000002", 2)}); err != nil {
		t.Fatal(err)
	}
	if got := r2.Keys()[0].ID; got != "00000002" {
		t.Fatalf("WithClock ring has key %s after Replace on the original, want 00000002", got)
	}
}

// TestTightFallback: a payload whose fast compression would not fit
// MaxSealed is compressed harder and still seals (and opens).
func TestTightFallback(t *testing.T) {
	var prose []byte
	for _, f := range []string{"../docs/ARCHITECTURE.md", "../BENCHMARKS.md", "../README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		prose = append(prose, b...)
	}
	sealedAt := func(p []byte, level int) int {
		z, err := compress(make([]byte, timesSize), p, level)
		if err != nil {
			t.Fatal(err)
		}
		return b64.EncodedLen(headerSize + NonceSize + len(z) + 16)
	}
	var payload []byte
	for n := 64 << 10; n <= len(prose); n += 4 << 10 {
		if sealedAt(prose[:n], FastLevel) > MaxSealed {
			payload = prose[:n]
			break
		}
	}
	if payload == nil || sealedAt(payload, TightLevel) > MaxSealed {
		t.Skip("no prose length here that only the tight level fits")
	}
	r, _ := testRing(t)
	s, err := r.Seal("workspace:x", payload, time.Hour)
	if err != nil {
		t.Fatalf("%d bytes of prose: %v", len(payload), err)
	}
	got, err := r.Open("workspace:x", s)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("open: %v", err)
	}
	t.Logf("%d bytes of prose: fast %d chars, sealed %d chars", len(payload), sealedAt(payload, FastLevel), len(s))
}

// TestOverhead: the documented fixed overhead (61 bytes) is what a seal adds.
func TestOverhead(t *testing.T) {
	if Overhead != 61 {
		t.Fatalf("Overhead = %d, the docs say 61", Overhead)
	}
	r, _ := testRing(t)
	s, _ := r.Seal("x", nil, time.Hour)
	raw, _ := b64.DecodeString(s)
	z, _ := compress(nil, nil, FastLevel)
	if len(raw) != Overhead+len(z) {
		t.Fatalf("sealed %d bytes = %d + compressed %d", len(raw), Overhead, len(z))
	}
}
