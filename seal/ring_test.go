package seal

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	r1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, KeyFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	s, err := r1.Seal("login", []byte("hi"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := LoadOrCreate(dir) // a restart: same key
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Open("login", s); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if len(r2.Keys()) != 1 || r2.Keys()[0].ID != r1.Keys()[0].ID {
		t.Fatalf("keys %v vs %v", r2.Keys(), r1.Keys())
	}
}

func TestLoadOrCreateConcurrentFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := LoadOrCreate(dir)
			errs[i] = err
			if err == nil {
				ids[i] = r.Keys()[0].ID
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("starter %d: key %q err %v; starter 0: %q (first writer must win)", i, ids[i], errs[i], ids[0])
		}
	}
}

func TestRotateRetire(t *testing.T) {
	dir := t.TempDir()
	r, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Keys()[0].ID
	old, _ := r.Seal("login", []byte("old"), time.Hour)

	k, err := Rotate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := r.Reload(dir); err != nil || !changed {
		t.Fatalf("reload after rotate: changed %v err %v", changed, err)
	}
	if changed, _ := r.Reload(dir); changed {
		t.Fatal("reload without a change reported one")
	}
	if got := r.Keys()[0].ID; got != k.ID {
		t.Fatalf("sealing key %s, want the rotated %s", got, k.ID)
	}
	fresh, _ := r.Seal("login", []byte("new"), time.Hour)
	if _, err := r.Open("login", old); err != nil {
		t.Fatalf("old seal after rotate: %v", err)
	}

	tests := []struct {
		name string
		id   string
		want error
	}{
		{"unknown id", "ffffffff", ErrNoKey},
		{"old key", first, nil},
		{"last key", k.ID, ErrLastKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Retire(dir, tc.id); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := r.Reload(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open("login", old); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old seal after retire: err = %v, want ErrUnknownKey", err)
	}
	if _, err := r.Open("login", fresh); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	r, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Watch(ctx, dir, time.Millisecond, nil); close(done) }()
	k, err := Rotate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Keys()[0].ID != k.ID {
		if time.Now().After(deadline) {
			t.Fatal("watch did not pick up the rotated key in 5 s")
		}
		time.Sleep(time.Millisecond) // polling the condition, bounded above
	}
	cancel()
	<-done
}

func TestParseKeys(t *testing.T) {
	k := fixedKey("0a0b0c0d", 3)
	std := FormatKey(k)
	url := "0a0b0c0d:" + strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(std[9:]), "=")
	tests := []struct {
		name    string
		entries []string
		ok      bool
	}{
		{"standard", []string{std}, true},
		{"url-safe unpadded", []string{url}, true},
		{"two keys", []string{std, FormatKey(fixedKey("0a0b0c0e", 4))}, true},
		{"no colon", []string{"0a0b0c0d"}, false},
		{"bad base64", []string{"0a0b0c0d:***"}, false},
		{"short secret", []string{"0a0b0c0d:AAAA"}, false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseKeys(tc.entries)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (keys[0].ID != k.ID || string(keys[0].Secret) != string(k.Secret)) {
				t.Fatalf("parsed %+v", keys[0])
			}
		})
	}
}

// TestConcurrentRotate: rotations at once each add their key (the ring
// file is locked while it is read, changed and replaced).
func TestConcurrentRotate(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := Rotate(dir, time.Now()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	keys, err := ReadKeys(dir)
	if err != nil || len(keys) != n+1 {
		t.Fatalf("%d keys after %d rotations of 1 (%v), want %d", len(keys), n, err, n+1)
	}
}
