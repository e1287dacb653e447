package bench

import (
	"bufio"
	"bytes"
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
