package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// IdleResult is the server's CPU use with attached sessions doing nothing.
type IdleResult struct {
	Sessions int           `json:"sessions"`
	Window   string        `json:"window"`
	CPU      time.Duration `json:"cpu_ns"`
	Cores    float64       `json:"cores"`
}

// Machine describes where a run happened.
type Machine struct {
	Date   string `json:"date"`
	CPUs   int    `json:"cpus"`
	MemGiB int    `json:"mem_gib"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Build  string `json:"build,omitempty"` // the termhost commit measured
	// BackgroundCores is the CPU other processes used during the run
	// (averaged over it): the machine is shared.
	BackgroundCores float64 `json:"background_cores"`
}

// GitVersion names the commit in root, "+dirty" when files outside bench/
// differ from it.
func GitVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%h %cI").Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", ".", ":!bench", ":!BENCHMARKS.md").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		v += " +dirty"
	}
	return v
}

// Report is everything one run measured. Nil sections did not run.
type Report struct {
	System  string  `json:"system"` // "termhost" or "peer"
	Machine Machine `json:"machine"`
	Config  string  `json:"config"`

	FirstFrame         *ConnectResult `json:"first_frame,omitempty"`
	FirstLogin         *ConnectResult `json:"first_login,omitempty"`
	ReattachLive       *ConnectResult `json:"reattach_live,omitempty"`
	Signup             *ConnectResult `json:"signup_parallel,omitempty"`
	Echo               *EchoResult    `json:"echo,omitempty"`
	OpenSSH            *OpenSSHResult `json:"openssh,omitempty"`
	Open               *ConnectResult `json:"open_parallel,omitempty"`
	OpenServerCPU      time.Duration  `json:"server_cpu_per_new_session_ns,omitempty"`
	Attached           *MemDelta      `json:"mem_attached,omitempty"`
	Idle               *IdleResult    `json:"idle,omitempty"`
	IdleHibernated     *IdleResult    `json:"idle_hibernated,omitempty"`
	Load               *LoadResult    `json:"load,omitempty"`
	Detached           *MemDelta      `json:"mem_detached,omitempty"`
	Hibernated         *MemDelta      `json:"mem_hibernated,omitempty"`
	ReattachHibernated *ConnectResult `json:"reattach_hibernated,omitempty"`
	Crash              *CrashResult   `json:"crash,omitempty"`
	Notes              []string       `json:"notes,omitempty"`
	// Background is the CPU other processes used during each timed phase.
	Background map[string]float64 `json:"background_cores_by_phase,omitempty"`

	Metrics map[string]float64 `json:"metrics"`
}

// NewReport starts a report for cfg on this machine.
func NewReport(cfg Config) *Report {
	return &Report{System: "termhost", Machine: ThisMachine(), Config: describe(cfg)}
}

func (r *Report) note(s string) {
	for _, n := range r.Notes {
		if n == s {
			return
		}
	}
	r.Notes = append(r.Notes, s)
}

func describe(c Config) string {
	var phases []string
	for _, p := range AllPhases {
		if c.Phases[p] {
			phases = append(phases, p)
		}
	}
	env := ""
	if len(c.ServerEnv) > 0 {
		env = " server-env=" + strings.Join(c.ServerEnv, ",")
	}
	return fmt.Sprintf("phases=%s%s samples=%d reattach=%d n=%d conc=%d echo-keys=%d echo-gap=%s typing=%d rate=%g load-dur=%s idle=%s crash-n=%d crash-dur=%s ssh-runs=%d",
		strings.Join(phases, ","), env, c.Samples, c.Reattach, c.N, c.Conc, c.EchoKeys, c.EchoGap, c.Typing, c.Rate, c.LoadDur, c.Idle, c.CrashN, c.CrashDur, c.SSHRuns)
}

// ThisMachine reads nproc, memory, kernel and Go version.
func ThisMachine() Machine {
	m := Machine{Date: time.Now().Format(time.RFC3339), CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseKBField(b, "MemTotal:"); err == nil {
			m.MemGiB = int(math.Round(float64(kb) / (1 << 30)))
		}
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

// KiB formats bytes as KiB with one decimal.
func KiB(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }

func msf(d time.Duration) float64 { return float64(d) / 1e6 }

// Flatten fills Metrics from the sections: the names the comparison
// table and the peer script share.
func (r *Report) Flatten() {
	m := map[string]float64{}
	if s := r.FirstFrame; s != nil && s.OK > 0 {
		m["first_frame_p50_ms"], m["first_frame_p99_ms"] = msf(s.Frame.P50), msf(s.Frame.P99)
		m["auth_p50_ms"] = msf(s.Auth.P50)
	}
	if s := r.FirstLogin; s != nil && s.OK > 0 {
		m["first_login_p50_ms"], m["first_login_p99_ms"] = msf(s.Frame.P50), msf(s.Frame.P99)
	}
	if s := r.Signup; s != nil && s.OK > 0 {
		m["signups_per_s"] = s.PerSecond
	}
	if s := r.ReattachLive; s != nil && s.OK > 0 {
		m["reattach_live_p50_ms"], m["reattach_live_p99_ms"] = msf(s.Frame.P50), msf(s.Frame.P99)
	}
	if s := r.Echo; s != nil && s.Latency.N > 0 {
		m["echo_p50_ms"], m["echo_p99_ms"] = msf(s.Latency.P50), msf(s.Latency.P99)
		m["bytes_per_key_median"], m["bytes_per_key_mean"] = float64(s.BytesMedian), s.BytesMean
	}
	if s := r.OpenSSH; s != nil {
		if s.New.N > 0 {
			m["openssh_new_p50_ms"] = msf(s.New.P50)
		}
		if s.Attach.N > 0 {
			m["openssh_attach_p50_ms"] = msf(s.Attach.P50)
		}
	}
	if s := r.Open; s != nil {
		m["new_sessions_per_s"] = s.PerSecond
		m["attached_ok"], m["attached_errors"] = float64(s.OK), float64(s.Errors)
		m["open_frame_p50_ms"], m["open_frame_p99_ms"] = msf(s.Frame.P50), msf(s.Frame.P99)
		if r.OpenServerCPU > 0 {
			m["server_cpu_ms_per_new_session"] = msf(r.OpenServerCPU)
		}
	}
	for _, d := range []*MemDelta{r.Attached, r.Detached, r.Hibernated} {
		if d != nil && d.Count > 0 {
			m["mem_"+d.State+"_kib"] = float64(d.PSSPer) / 1024
			m["mem_"+d.State+"_rss_kib"] = float64(d.RSSPer) / 1024
			if d.Nudged {
				m["mem_"+d.State+"_heap_kib"] = float64(d.HeapPer) / 1024
			}
		}
	}
	if s := r.Idle; s != nil && s.Sessions > 0 {
		m["idle_cores_per_1000"] = s.Cores * 1000 / float64(s.Sessions)
		m["idle_sessions"] = float64(s.Sessions)
	}
	if s := r.IdleHibernated; s != nil && s.Sessions > 0 {
		m["idle_hibernated_cores_per_1000"] = s.Cores * 1000 / float64(s.Sessions)
	}
	if s := r.Load; s != nil && s.Echo.Latency.N > 0 {
		m["load_echo_p50_ms"], m["load_echo_p99_ms"] = msf(s.Echo.Latency.P50), msf(s.Echo.Latency.P99)
		m["load_attached"], m["load_typing"], m["load_rate"] = float64(s.Attached), float64(s.Typing), s.Rate
		m["load_errors"] = float64(s.Echo.Errors)
	}
	if s := r.ReattachHibernated; s != nil && s.OK > 0 {
		m["reattach_hib_p50_ms"], m["reattach_hib_p99_ms"] = msf(s.Frame.P50), msf(s.Frame.P99)
	}
	if s := r.Crash; s != nil && s.Sessions > 0 {
		m["crash_sessions"], m["crash_back"] = float64(s.Sessions), float64(s.Back)
		m["crash_typed"], m["crash_lost"] = float64(s.Typed), float64(s.Lost)
		m["crash_max_lost_age_ms"] = msf(s.MaxLostAge)
		m["crash_late"], m["crash_corrupt"] = float64(s.Late), float64(s.Corrupt)
	}
	r.Metrics = m
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	r.Flatten()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadMetrics merges the "metrics" of JSON files (the peer's reports).
func ReadMetrics(paths []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Metrics map[string]float64 `json:"metrics"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for k, v := range doc.Metrics {
			out[k] = v
		}
	}
	return out, nil
}
