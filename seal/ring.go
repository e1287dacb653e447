package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// KeyFile is the name of the key ring file inside the secrets directory.
const KeyFile = "seal-keys.json"

// ErrLastKey: retiring the ring's only key is refused (nothing could seal).
var ErrLastKey = errors.New("seal: cannot retire the last key")

// ErrNoKey: no key of that id in the ring.
var ErrNoKey = errors.New("seal: no such key")

type fileKey struct {
	ID      string    `json:"id"`
	Secret  string    `json:"secret"` // standard base64
	Created time.Time `json:"created"`
}

type keyFile struct {
	Keys []fileKey `json:"keys"` // the sealing key first
}

// LoadOrCreate reads the ring from dir/seal-keys.json (SPEC §10: DATA/secrets),
// creating dir (0700) and the file (0600) with one new key at first start.
// The file lists the keys, the sealing key first.
func LoadOrCreate(dir string) (*Ring, error) {
	keys, err := ReadKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		k, kerr := NewKey(time.Now())
		if kerr != nil {
			return nil, kerr
		}
		// If another process created the file first, its key wins.
		if err := writeKeys(dir, []Key{k}, false); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		keys, err = ReadKeys(dir)
	}
	if err != nil {
		return nil, err
	}
	return NewRing(keys, nil)
}

// ReadKeys reads the keys of dir/seal-keys.json, the sealing key first.
// A missing file is an error wrapping fs.ErrNotExist.
func ReadKeys(dir string) ([]Key, error) {
	path := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: read key ring: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("seal: key ring %s: %w", path, err)
	}
	keys := make([]Key, 0, len(kf.Keys))
	for _, fk := range kf.Keys {
		secret, err := base64.StdEncoding.DecodeString(fk.Secret)
		if err != nil {
			return nil, fmt.Errorf("seal: key ring %s: key %s: %w", path, fk.ID, err)
		}
		keys = append(keys, Key{ID: fk.ID, Secret: secret, Created: fk.Created})
	}
	if _, err := newKeySet(keys); err != nil {
		return nil, fmt.Errorf("key ring %s: %w", path, err)
	}
	return keys, nil
}

// WriteKeys replaces dir/seal-keys.json with keys (the sealing key first),
// atomically (temporary file + rename), dir 0700 and file 0600.
func WriteKeys(dir string, keys []Key) error { return writeKeys(dir, keys, true) }

// writeKeys writes the ring file; without replace, an existing file is kept
// and the error wraps fs.ErrExist.
func writeKeys(dir string, keys []Key, replace bool) error {
	if _, err := newKeySet(keys); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seal: key ring dir: %w", err)
	}
	var kf keyFile
	for _, k := range keys {
		kf.Keys = append(kf.Keys, fileKey{ID: k.ID, Secret: base64.StdEncoding.EncodeToString(k.Secret), Created: k.Created.UTC()})
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, KeyFile+".tmp*")
	if err != nil {
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	final := filepath.Join(dir, KeyFile)
	if !replace {
		if err := os.Link(tmp.Name(), final); err != nil {
			return fmt.Errorf("seal: create key ring: %w", err)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("seal: write key ring: %w", err)
	}
	return nil
}

// Rotate puts a new key first in dir's ring (it seals from now on; the others
// still open) and returns it. It creates the ring when there is none, and
// holds the ring's lock (lockRing) while it reads and replaces the file.
func Rotate(dir string, now time.Time) (Key, error) {
	unlock, err := lockRing(dir)
	if err != nil {
		return Key{}, err
	}
	defer unlock()
	keys, err := ReadKeys(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Key{}, err
	}
	k, err := NewKey(now)
	if err != nil {
		return Key{}, err
	}
	if err := WriteKeys(dir, append([]Key{k}, keys...)); err != nil {
		return Key{}, err
	}
	return k, nil
}

// Retire removes key id from dir's ring: its seals stop opening (for a
// running server at its next Reload). Retiring the last key fails with
// ErrLastKey, an unknown id with ErrNoKey. It holds the ring's lock.
func Retire(dir, id string) error {
	unlock, err := lockRing(dir)
	if err != nil {
		return err
	}
	defer unlock()
	keys, err := ReadKeys(dir)
	if err != nil {
		return err
	}
	kept := keys[:0:0]
	for _, k := range keys {
		if k.ID != id {
			kept = append(kept, k)
		}
	}
	switch {
	case len(kept) == len(keys):
		return fmt.Errorf("%w: %q", ErrNoKey, id)
	case len(kept) == 0:
		return fmt.Errorf("%w (%s)", ErrLastKey, id)
	}
	return WriteKeys(dir, kept)
}

// lockRing serialises Rotate and Retire on dir (an flock on dir/.lock), so
// two at once cannot lose a key; readers need no lock (writes are renames).
func lockRing(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: key ring dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: lock key ring: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: lock key ring: %w", err)
	}
	return func() { f.Close() }, nil // closing drops the flock
}

// ParseKeys reads the config form of a ring (`seal_keys`, SPEC §10): one
// "ID:base64secret" per entry (standard or URL-safe base64, padded or not),
// the sealing key first.
func ParseKeys(entries []string) ([]Key, error) {
	keys := make([]Key, 0, len(entries))
	for i, e := range entries {
		id, secret, ok := strings.Cut(strings.TrimSpace(e), ":")
		if !ok {
			return nil, fmt.Errorf("seal_keys[%d]: want ID:base64secret", i)
		}
		raw, err := decodeAnyBase64(secret)
		if err != nil {
			return nil, fmt.Errorf("seal_keys[%d] (%s): secret: %w", i, id, err)
		}
		keys = append(keys, Key{ID: id, Secret: raw})
	}
	if _, err := newKeySet(keys); err != nil {
		return nil, fmt.Errorf("seal_keys: %w", err)
	}
	return keys, nil
}

// FormatKey is the config form of k: "ID:base64secret" (standard base64).
func FormatKey(k Key) string {
	return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
}

func decodeAnyBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Reload reads dir's ring again and, when its keys changed, replaces the
// ring's keys (a retired key's seals stop opening; a rotated key seals).
func (r *Ring) Reload(dir string) (changed bool, err error) {
	keys, err := ReadKeys(dir)
	if err != nil {
		return false, err
	}
	if sameKeys(keys, r.Keys()) {
		return false, nil
	}
	return true, r.Replace(keys)
}

// Watch calls Reload every interval until ctx ends, so `termhost keys
// rotate|retire` reach a running server; errors go to onErr (may be nil).
func (r *Ring) Watch(ctx context.Context, dir string, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.Reload(dir); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// sameKeys reports whether a and b hold the same keys in the same order.
func sameKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || !bytes.Equal(a[i].Secret, b[i].Secret) {
			return false
		}
	}
	return true
}
