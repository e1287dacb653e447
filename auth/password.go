package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (OWASP's 19 MiB, 2 passes, 1 lane baseline).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// ErrBadHash means a stored password hash cannot be parsed.
var ErrBadHash = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches a hash from HashPassword,
// honouring the parameters stored in the hash.
func VerifyPassword(hash, password string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.mem, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// CheckHash reports whether hash is an argon2id PHC string VerifyPassword
// accepts, without hashing anything (a config user's password_hash is
// checked at start). Errors wrap ErrBadHash.
func CheckHash(hash string) error {
	_, err := parseHash(hash)
	return err
}

// argonHash is a parsed argon2id PHC string.
type argonHash struct {
	mem, time uint32
	threads   uint8
	salt, key []byte
}

func parseHash(hash string) (argonHash, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return argonHash{}, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argonHash{}, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	var mem, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", mem, time, threads) {
		return argonHash{}, fmt.Errorf("%w: params %q", ErrBadHash, parts[3])
	}
	// A stored hash decides the work of every login attempt: keep it
	// within what argon2 accepts (t ≥ 1, m ≥ 8p) and what a server can
	// afford (≤ 256 MiB, ≤ 10 passes, ≤ 16 lanes).
	if time < 1 || time > 10 || threads < 1 || threads > 16 || mem < 8*uint32(threads) || mem > 256<<10 {
		return argonHash{}, fmt.Errorf("%w: params out of range %q", ErrBadHash, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return argonHash{}, fmt.Errorf("%w: salt", ErrBadHash)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return argonHash{}, fmt.Errorf("%w: key", ErrBadHash)
	}
	return argonHash{mem: mem, time: time, threads: threads, salt: salt, key: want}, nil
}
