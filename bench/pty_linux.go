package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"
)

// openPTY returns a pseudo-terminal pair of w×h cells, using only the
// standard library (no pty module).
func openPTY(w, h int) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	ws := struct{ rows, cols, x, y uint16 }{uint16(h), uint16(w), 0, 0}
	if err := ioctl(slave, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, fmt.Errorf("set window size: %w", err)
	}
	return master, slave, nil
}

func ioctl(f *os.File, req, arg uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, arg); e != 0 {
		return e
	}
	return nil
}

// PTYRun is one program run on a pty until it showed marker.
type PTYRun struct {
	Frame time.Duration // exec → marker seen on the terminal
	Exit  time.Duration // exec → process gone (after the detach keys)
}

// RunOnPTY starts argv on an 80×24 pty, as a person's terminal would run
// it, and measures the time until marker appears in its output. Then it
// types detach and waits for the program to exit. The run is bounded by
// timeout; the process is killed when it is exceeded.
func RunOnPTY(ctx context.Context, argv []string, env []string, marker string, detach []byte, timeout time.Duration) (PTYRun, error) {
	master, slave, err := openPTY(80, 24)
	if err != nil {
		return PTYRun{}, err
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return PTYRun{}, err
	}
	slave.Close()
	seen := make(chan time.Time, 1)
	output := &lockedBuffer{}
	go func() {
		m := NewMatcher(marker)
		buf := make([]byte, 4096)
		found := false
		for {
			n, err := master.Read(buf)
			if n > 0 {
				output.Write(buf[:n])
				if !found && m.Feed(buf[:n]) {
					found = true
					seen <- time.Now()
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var run PTYRun
	select {
	case at := <-seen:
		run.Frame = at.Sub(start)
	case <-ctx.Done():
		_ = cmd.Wait()
		return run, fmt.Errorf("%s: no %q within %s; output: %q", argv[0], marker, timeout, tail(output.String(), 400))
	}
	// Untimed: let the program finish its attach (tmux waits for answers
	// to its terminal queries and drops keys meanwhile).
	time.Sleep(300 * time.Millisecond)
	if _, err := master.Write(detach); err != nil {
		return run, err
	}
	err = cmd.Wait()
	run.Exit = time.Since(start)
	var exit *exec.ExitError
	if ctx.Err() != nil {
		return run, fmt.Errorf("%s did not exit after the detach keys: %w", argv[0], ctx.Err())
	}
	if err != nil && !errors.As(err, &exit) {
		return run, err
	}
	return run, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
