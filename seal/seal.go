// Package seal makes and opens sealed state: data the server hands to a client
// to hold (a login cookie, a workspace ticket) that only the server can read,
// change or make (SPEC §10).
//
// Sealed text is unpadded URL-safe base64 (RFC 4648 §5) of
//
//	version (1 byte, 1) ‖ key id (4 bytes) ‖ nonce (24 bytes) ‖ ciphertext
//
// where ciphertext is XChaCha20-Poly1305 (32-byte key, 16-byte tag) over
//
//	issued (8 bytes, Unix ms, big endian) ‖ expiry (8 bytes, Unix ms) ‖ DEFLATE(payload)
//
// with associated data "termhost seal" ‖ 0 ‖ version ‖ key id ‖ purpose, so the
// header is authenticated and a seal made for one purpose ("login", "link",
// "workspace:<session id>") never opens as another.
//
// Sizes: sealed text is at most MaxSealed (64 KiB) characters — longer text is
// refused with ErrTooLarge before it is decoded; a payload is at most
// MaxPayload (4 MiB) — Open stops decompressing at that cap (ErrTooLarge), so a
// decompression bomb costs at most 4 MiB of output (and only a holder of a
// key can make one: Open authenticates before it decompresses). The fixed
// overhead is Overhead (61) bytes before base64; base64 adds a third.
//
// Keys come from a Ring: the first key seals, every key opens, a seal of a
// key no longer in the ring fails with ErrUnknownKey (LoadOrCreate, Rotate,
// Retire keep the ring in DATA/secrets; ParseKeys reads config `seal_keys`).
package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Errors of Seal and Open; returned errors wrap one of them (test with errors.Is).
var (
	// ErrInvalid: the text is not a seal of this server for this purpose —
	// malformed, truncated, tampered with, or sealed for another purpose.
	ErrInvalid = errors.New("seal: invalid")
	// ErrExpired: the seal was valid but its expiry has passed.
	ErrExpired = errors.New("seal: expired")
	// ErrUnknownKey: the seal names a key the ring does not hold (never
	// had, or retired).
	ErrUnknownKey = errors.New("seal: unknown key")
	// ErrTooLarge: sealed text over MaxSealed characters, or a payload over
	// MaxPayload bytes (before sealing or once decompressed).
	ErrTooLarge = errors.New("seal: too large")
)

const (
	// Version is the format version byte this package writes and reads.
	Version = 1
	// MaxSealed is the largest sealed text, in characters (64 KiB).
	MaxSealed = 64 << 10
	// MaxPayload is the largest payload, in bytes, before sealing and after
	// decompression (4 MiB).
	MaxPayload = 4 << 20
	// SecretSize is the size of a key's secret in bytes.
	SecretSize = chacha20poly1305.KeySize
	// NonceSize is the size of the random nonce in bytes.
	NonceSize = chacha20poly1305.NonceSizeX
	// Overhead is the number of bytes (before base64) a seal adds to the
	// compressed payload: header, nonce, times and the AEAD tag.
	Overhead = headerSize + NonceSize + timesSize + chacha20poly1305.Overhead

	idSize     = 4
	headerSize = 1 + idSize
	timesSize  = 16
)

var b64 = base64.RawURLEncoding.Strict()

// Key is one AEAD key of the ring.
type Key struct {
	// ID names the key inside every seal it makes: 8 lowercase hex digits.
	ID string
	// Secret is the XChaCha20-Poly1305 key, SecretSize (32) bytes.
	Secret []byte
	// Created is when the key was made (informational; order is the ring's).
	Created time.Time
}

// NewKey makes a key with a random ID and secret, created at now.
func NewKey(now time.Time) (Key, error) {
	var id [idSize]byte
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, fmt.Errorf("seal: new key: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("seal: new key: %w", err)
	}
	return Key{ID: hex.EncodeToString(id[:]), Secret: secret, Created: now.UTC()}, nil
}

type ringKey struct {
	Key
	id   [idSize]byte
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	}
}

type keySet struct {
	ordered []*ringKey
	byID    map[[idSize]byte]*ringKey
}

// Ring seals with its first key and opens with any of its keys. It is safe
// for concurrent use; Replace swaps the keys atomically.
type Ring struct {
	keys *atomic.Pointer[keySet] // shared with rings made by WithClock
	now  func() time.Time
}

// NewRing makes a ring of keys (at least one; IDs 8 lowercase hex digits,
// distinct; secrets 32 bytes). keys[0] seals. now nil means time.Now.
func NewRing(keys []Key, now func() time.Time) (*Ring, error) {
	if now == nil {
		now = time.Now
	}
	ks, err := newKeySet(keys)
	if err != nil {
		return nil, err
	}
	r := &Ring{keys: new(atomic.Pointer[keySet]), now: now}
	r.keys.Store(ks)
	return r, nil
}

// WithClock returns a ring on the same keys (Replace on either changes
// both) that reads the time from now: for a caller whose expiry rules run
// on its own injected clock.
func (r *Ring) WithClock(now func() time.Time) *Ring {
	if now == nil {
		now = time.Now
	}
	return &Ring{keys: r.keys, now: now}
}

func newKeySet(keys []Key) (*keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: a ring needs at least one key")
	}
	ks := &keySet{byID: make(map[[idSize]byte]*ringKey, len(keys))}
	for _, k := range keys {
		id, err := parseID(k.ID)
		if err != nil {
			return nil, err
		}
		if len(k.Secret) != SecretSize {
			return nil, fmt.Errorf("seal: key %s: secret is %d bytes, want %d", k.ID, len(k.Secret), SecretSize)
		}
		if _, dup := ks.byID[id]; dup {
			return nil, fmt.Errorf("seal: key %s appears twice", k.ID)
		}
		aead, err := chacha20poly1305.NewX(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("seal: key %s: %w", k.ID, err)
		}
		rk := &ringKey{Key: Key{ID: k.ID, Secret: bytes.Clone(k.Secret), Created: k.Created}, id: id, aead: aead}
		ks.ordered = append(ks.ordered, rk)
		ks.byID[id] = rk
	}
	return ks, nil
}

func parseID(s string) ([idSize]byte, error) {
	var id [idSize]byte
	if len(s) != 2*idSize {
		return id, fmt.Errorf("seal: key id %q: want %d lowercase hex digits", s, 2*idSize)
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return id, fmt.Errorf("seal: key id %q: want %d lowercase hex digits", s, 2*idSize)
		}
	}
	hex.Decode(id[:], []byte(s))
	return id, nil
}

// Replace swaps the ring's keys (same rules as NewRing). Seals of a key that
// is no longer in the ring stop opening at once (ErrUnknownKey).
func (r *Ring) Replace(keys []Key) error {
	ks, err := newKeySet(keys)
	if err != nil {
		return err
	}
	r.keys.Store(ks)
	return nil
}

// Keys returns copies of the ring's keys, the sealing key first.
func (r *Ring) Keys() []Key {
	ks := r.keys.Load()
	out := make([]Key, len(ks.ordered))
	for i, k := range ks.ordered {
		out[i] = Key{ID: k.ID, Secret: bytes.Clone(k.Secret), Created: k.Created}
	}
	return out
}

// Now is the ring's clock (the one given to NewRing).
func (r *Ring) Now() time.Time { return r.now() }

func additionalData(header []byte, purpose string) []byte {
	ad := make([]byte, 0, 14+len(header)+len(purpose))
	ad = append(ad, "termhost seal\x00"...)
	ad = append(ad, header...)
	return append(ad, purpose...)
}

// Seal compresses payload (at most MaxPayload bytes), binds purpose as
// associated data, puts the issue time (now) and expiry (now+ttl, ttl > 0,
// millisecond precision) inside and returns unpadded URL-safe base64 text. It
// fails with ErrTooLarge when the payload or the sealed text (MaxSealed) is
// too big; callers with smaller limits (a 4 KB cookie) check len of the result.
func (r *Ring) Seal(purpose string, payload []byte, ttl time.Duration) (string, error) {
	if len(payload) > MaxPayload {
		return "", fmt.Errorf("%w: payload of %d bytes (limit %d)", ErrTooLarge, len(payload), MaxPayload)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("seal: ttl %v: must be positive", ttl)
	}
	k := r.keys.Load().ordered[0]
	now := r.now()
	var times [timesSize]byte
	binary.BigEndian.PutUint64(times[:8], uint64(now.UnixMilli()))
	binary.BigEndian.PutUint64(times[8:], uint64(now.Add(ttl).UnixMilli()))
	// Fast first; only a payload that would not fit is compressed harder.
	var plain []byte
	var rawLen int
	for _, level := range []int{FastLevel, TightLevel} {
		var err error
		if plain, err = compress(times[:], payload, level); err != nil {
			return "", err
		}
		rawLen = headerSize + NonceSize + len(plain) + chacha20poly1305.Overhead
		if b64.EncodedLen(rawLen) <= MaxSealed {
			break
		}
	}
	if n := b64.EncodedLen(rawLen); n > MaxSealed {
		return "", fmt.Errorf("%w: sealed text of %d characters (limit %d)", ErrTooLarge, n, MaxSealed)
	}
	out := make([]byte, headerSize+NonceSize, rawLen)
	out[0] = Version
	copy(out[1:headerSize], k.id[:])
	if _, err := rand.Read(out[headerSize:]); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out = k.aead.Seal(out, out[headerSize:headerSize+NonceSize], plain, additionalData(out[:headerSize], purpose))
	return b64.EncodeToString(out), nil
}

// compress returns prefix ‖ DEFLATE(payload) at level.
func compress(prefix, payload []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(prefix) + len(payload)/2 + 64)
	buf.Write(prefix)
	zw := flateWriter(&buf, level)
	if _, err := zw.Write(payload); err != nil {
		return nil, fmt.Errorf("seal: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("seal: compress: %w", err)
	}
	putFlateWriter(zw, level)
	return buf.Bytes(), nil
}

// Opened is what OpenDetails returns.
type Opened struct {
	Payload []byte
	Issued  time.Time // millisecond precision
	Expires time.Time // millisecond precision
	KeyID   string    // the key that sealed it
}

// Open reverses Seal for the same purpose and returns the payload. Errors
// wrap ErrTooLarge (text over MaxSealed before any decoding, or payload over
// MaxPayload once decompressed: decompression stops there), ErrInvalid
// (malformed, truncated, tampered, wrong purpose), ErrUnknownKey (its key is not
// in the ring) or ErrExpired (now ≥ expiry).
func (r *Ring) Open(purpose, sealed string) ([]byte, error) {
	o, err := r.OpenDetails(purpose, sealed)
	return o.Payload, err
}

// OpenDetails is Open that also returns the issue and expiry times and the key id.
func (r *Ring) OpenDetails(purpose, sealed string) (Opened, error) {
	if len(sealed) > MaxSealed {
		return Opened{}, fmt.Errorf("%w: sealed text of %d characters (limit %d)", ErrTooLarge, len(sealed), MaxSealed)
	}
	raw, err := b64.DecodeString(sealed)
	if err != nil {
		return Opened{}, fmt.Errorf("%w: not base64url: %v", ErrInvalid, err)
	}
	if len(raw) < Overhead {
		return Opened{}, fmt.Errorf("%w: %d bytes, shorter than a seal", ErrInvalid, len(raw))
	}
	if raw[0] != Version {
		return Opened{}, fmt.Errorf("%w: version %d (want %d)", ErrInvalid, raw[0], Version)
	}
	var id [idSize]byte
	copy(id[:], raw[1:headerSize])
	k := r.keys.Load().byID[id]
	if k == nil {
		return Opened{}, fmt.Errorf("%w: %x", ErrUnknownKey, id)
	}
	nonce := raw[headerSize : headerSize+NonceSize]
	plain, err := k.aead.Open(nil, nonce, raw[headerSize+NonceSize:], additionalData(raw[:headerSize], purpose))
	if err != nil {
		return Opened{}, fmt.Errorf("%w: authentication failed (tampered, or sealed for another purpose than %q)", ErrInvalid, purpose)
	}
	o := Opened{
		Issued:  time.UnixMilli(int64(binary.BigEndian.Uint64(plain[:8]))),
		Expires: time.UnixMilli(int64(binary.BigEndian.Uint64(plain[8:16]))),
		KeyID:   k.ID,
	}
	if now := r.now(); !now.Before(o.Expires) {
		return o, fmt.Errorf("%w: at %s", ErrExpired, o.Expires.UTC().Format(time.RFC3339))
	}
	o.Payload, err = inflate(plain[timesSize:])
	return o, err
}

// inflate decompresses at most MaxPayload bytes: a bomb stops at the cap.
func inflate(z []byte) ([]byte, error) {
	zr := flateReader(bytes.NewReader(z))
	defer putFlateReader(zr)
	var out bytes.Buffer
	out.Grow(min(4*len(z)+64, MaxPayload))
	n, err := io.Copy(&out, io.LimitReader(zr, MaxPayload+1))
	if err != nil {
		// Authenticated but not DEFLATE: only a buggy sealer makes this.
		return nil, fmt.Errorf("%w: decompress: %v", ErrInvalid, err)
	}
	if n > MaxPayload {
		return nil, fmt.Errorf("%w: payload over %d bytes once decompressed", ErrTooLarge, MaxPayload)
	}
	return out.Bytes(), nil
}
