package abuse

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/bench"
)

// RSS reads VmRSS of process pid from /proc/PID/status, in bytes.
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line for pid %d", pid)
}

// Meter watches a server process while an attack runs: its resident
// memory, sampled every 20 ms (peak and start), and its CPU time.
type Meter struct {
	pid    int
	start  time.Time
	cpu0   time.Duration
	base   int64
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	peak   int64
	period time.Duration
}

// Usage is what a Meter saw.
type Usage struct {
	BaseRSS int64         // bytes resident when the meter started
	PeakRSS int64         // the highest sample, bytes
	CPU     time.Duration // user+system CPU the server used meanwhile
	Wall    time.Duration
}

// StartMeter begins watching pid.
func StartMeter(pid int) (*Meter, error) {
	base, err := RSS(pid)
	if err != nil {
		return nil, err
	}
	cpu, err := bench.ReadCPU(pid)
	if err != nil {
		return nil, err
	}
	m := &Meter{pid: pid, start: time.Now(), cpu0: cpu, base: base, peak: base, period: 20 * time.Millisecond,
		stop: make(chan struct{}), done: make(chan struct{})}
	go m.sample()
	return m, nil
}

func (m *Meter) sample() {
	defer close(m.done)
	tick := time.NewTicker(m.period)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		if r, err := RSS(m.pid); err == nil {
			m.mu.Lock()
			m.peak = max(m.peak, r)
			m.mu.Unlock()
		}
	}
}

// Peek returns the usage so far without stopping.
func (m *Meter) Peek() Usage {
	cpu, _ := bench.ReadCPU(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	return Usage{BaseRSS: m.base, PeakRSS: m.peak, CPU: cpu - m.cpu0, Wall: time.Since(m.start)}
}

// Stop ends the watch (idempotent) and returns the usage.
func (m *Meter) Stop() Usage {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	if r, err := RSS(m.pid); err == nil {
		m.mu.Lock()
		m.peak = max(m.peak, r)
		m.mu.Unlock()
	}
	return m.Peek()
}

// Probes is what a legitimate user saw during an attack: the time from
// dial to a complete first frame, once per try.
type Probes struct {
	Frames []time.Duration // successful tries, in order
	Errors []string        // failed tries
}

// Max is the slowest successful first frame (0 if none).
func (p Probes) Max() time.Duration {
	if len(p.Frames) == 0 {
		return 0
	}
	return slices.Max(p.Frames)
}

// OK reports whether there was at least one try, no try failed, and every
// first frame came within limit.
func (p Probes) OK(limit time.Duration) bool {
	return len(p.Frames) > 0 && len(p.Errors) == 0 && p.Max() <= limit
}

func (p Probes) String() string {
	s := fmt.Sprintf("%d first frames, max %s", len(p.Frames), p.Max().Round(100*time.Microsecond))
	if len(p.Errors) > 0 {
		s += fmt.Sprintf("; %d failed, first: %s", len(p.Errors), p.Errors[0])
	}
	return s
}

// Prober is a legitimate user's login, tried again and again.
type Prober func(ctx context.Context) (time.Duration, error)

// SSHUser logs in over SSH with a key (d.Timeout defaults to 5 s here), as
// a person with a terminal (pty-req 80×24) would, and returns the time to
// the first frame.
func SSHUser(d SSH, user string, signer gossh.Signer) Prober {
	if d.Timeout == 0 {
		d.Timeout = 5 * time.Second
	}
	return func(ctx context.Context) (time.Duration, error) {
		t, err := d.Open(ctx, user, signer, TermOptions{Marker: FrameMarker})
		if err != nil {
			return 0, err
		}
		t.Close()
		return t.FirstFrame, nil
	}
}

// TelnetUser logs in over telnet with a password from source (after
// header, if any) and returns the time from dial to the first frame.
func TelnetUser(addr, source string, header []byte, user, password string) Prober {
	return func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		t, err := DialTelnet(ctx, addr, source, header, 80, 24)
		if err != nil {
			return 0, err
		}
		defer t.Close()
		return t.Login(user, password, start, start.Add(5*time.Second))
	}
}

// Watch runs the probers one after another, pausing every between rounds,
// until stop is called; stop returns what they saw. The first round
// starts at once and stop lets it finish, so even a short attack has a
// measurement.
func Watch(ctx context.Context, every time.Duration, probers ...Prober) (stop func() Probes) {
	ctx, cancel := context.WithCancel(ctx)
	done, first := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var res Probes
	round := func() {
		for _, p := range probers {
			d, err := p(ctx)
			if ctx.Err() != nil {
				return // cancelled mid-try: not the server's fault
			}
			mu.Lock()
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
			} else {
				res.Frames = append(res.Frames, d)
			}
			mu.Unlock()
		}
	}
	go func() {
		defer close(done)
		round()
		close(first)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			round()
		}
	}()
	return func() Probes {
		<-first
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return Probes{Frames: slices.Clone(res.Frames), Errors: slices.Clone(res.Errors)}
	}
}
