package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse means another `termhost serve` holds the data dir.
var ErrDataDirInUse = errors.New("in use by another termhost serve")

// lockFile is the name of the serve lock inside the data dir.
const lockFile = "termhost.lock"

// dataDirLock is an exclusive flock on DATA/termhost.lock, held by one
// `termhost serve` for its whole life. Only serve takes it: the user
// commands work beside a running server. The kernel drops it when the
// process dies, so a kill -9 leaves nothing stale to clean up.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the lock before anything in dir is touched, so a
// second serve on the same data dir changes nothing (not the store, not
// the running server's sessions). It creates dir if needed. The error
// wraps ErrDataDirInUse and names the holder's pid when it is held.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	// No O_TRUNC: the holder's pid must survive a refused open.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is %w (%s)", dir, ErrDataDirInUse, holder(f))
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	// The pid is for the message above; the flock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// holder says which process holds the lock, as far as the file tells.
func holder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil && pid > 0 {
		return "pid " + strconv.Itoa(pid)
	}
	return "pid unknown"
}

// Unlock releases the lock. The file stays: removing it would let a third
// serve lock a new file while a second still waits on the old one.
func (l *dataDirLock) Unlock() error {
	return l.f.Close()
}
