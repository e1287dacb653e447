package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Mem is a process's memory as the kernel accounts it.
type Mem struct {
	RSS int64 // bytes resident (VmRSS)
	PSS int64 // bytes, shared pages divided among their users (smaps_rollup Pss)
}

// Sub is m − o, field by field.
func (m Mem) Sub(o Mem) Mem { return Mem{RSS: m.RSS - o.RSS, PSS: m.PSS - o.PSS} }

// Add is m + o, field by field.
func (m Mem) Add(o Mem) Mem { return Mem{RSS: m.RSS + o.RSS, PSS: m.PSS + o.PSS} }

// ReadMem reads VmRSS from /proc/PID/status and Pss from
// /proc/PID/smaps_rollup.
func ReadMem(pid int) (Mem, error) {
	var m Mem
	var err error
	if m.RSS, err = kbField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"); err != nil {
		return m, err
	}
	if m.PSS, err = kbField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:"); err != nil {
		return m, err
	}
	return m, nil
}

// kbField returns the "NAME:   123 kB" line of a proc file, in bytes.
func kbField(path, name string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseKBField(data, name)
}

func parseKBField(data []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		f := strings.Fields(line[len(name):])
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", name, line, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// clockTick is USER_HZ. It is 100 on every Linux architecture Go supports
// (the kernel fixes it for userspace), so /proc times have 10 ms resolution.
const clockTick = 10 * time.Millisecond

// ReadCPU returns user+system CPU time of the process (all its threads,
// live and exited) from /proc/PID/stat.
func ReadCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(data)
}

// parseStatCPU reads fields 14 (utime) and 15 (stime). The command name
// (field 2) may hold spaces and parentheses, so fields are counted after
// its last ')'.
func parseStatCPU(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' in %q", data)
	}
	f := strings.Fields(string(data[i+1:]))
	// After ")": state(3) ppid(4) … utime is field 14 → index 11.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(u+s) * clockTick, nil
}

// CPUMeter measures a process's CPU use over a window.
type CPUMeter struct {
	pid   int
	cpu0  time.Duration
	wall0 time.Time
}

// StartCPU begins a window.
func StartCPU(pid int) (*CPUMeter, error) {
	c, err := ReadCPU(pid)
	if err != nil {
		return nil, err
	}
	return &CPUMeter{pid: pid, cpu0: c, wall0: time.Now()}, nil
}

// Stop ends the window: the CPU time used and the cores it averaged.
func (m *CPUMeter) Stop() (cpu time.Duration, cores float64, err error) {
	c, err := ReadCPU(m.pid)
	if err != nil {
		return 0, 0, err
	}
	cpu = c - m.cpu0
	return cpu, cpu.Seconds() / time.Since(m.wall0).Seconds(), nil
}

// systemBusy is the time all CPUs spent busy since boot (/proc/stat:
// user, nice, system, irq, softirq, steal).
func systemBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseSystemBusy(data)
}

func parseSystemBusy(data []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		busy += v
	}
	return time.Duration(busy) * clockTick, nil
}

// ownCPU is this process's CPU time plus that of its waited-for children
// (the servers and ssh clients it started and stopped).
func ownCPU() (time.Duration, error) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 15 {
		return 0, fmt.Errorf("/proc/self/stat: %q", data)
	}
	var sum int64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return time.Duration(sum) * clockTick, nil
}

// Background measures the CPU that processes other than this tool, its
// children and the given live processes used: on a shared machine, other
// people's work competes for the same cores and moves the figures.
type Background struct {
	pids        []int
	busy0, own0 time.Duration
	wall0       time.Time
}

// StartBackground begins the measurement; pids are live processes of the
// run (a server) whose CPU is not background.
func StartBackground(pids ...int) *Background {
	b := &Background{pids: pids, wall0: time.Now()}
	b.busy0, _ = systemBusy()
	b.own0 = b.own()
	return b
}

func (b *Background) own() time.Duration {
	own, _ := ownCPU()
	for _, p := range b.pids {
		c, _ := ReadCPU(p)
		own += c
	}
	return own
}

// Cores is the average number of cores others used since the start.
func (b *Background) Cores() float64 {
	busy, err := systemBusy()
	wall := time.Since(b.wall0).Seconds()
	if err != nil || wall <= 0 {
		return -1
	}
	return max((busy-b.busy0-(b.own()-b.own0)).Seconds()/wall, 0)
}

// WaitQuiet waits until other processes use at most limit cores over a
// second, for up to maxWait, and returns the last reading.
func WaitQuiet(ctx context.Context, limit float64, maxWait time.Duration, pids ...int) float64 {
	deadline := time.Now().Add(maxWait)
	for {
		b := StartBackground(pids...)
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(time.Second):
		}
		c := b.Cores()
		if c <= limit || time.Now().After(deadline) {
			return c
		}
	}
}
