package bench

import (
	"fmt"
	"io"
	"strings"
)

// A Row of the comparison table: one metric, both systems, the target.
type Row struct {
	Label  string
	Key    string // metric name in both reports
	Unit   string
	Target string // as issue 5 states it; "" for context rows
	// Check says whether termhost meets the target, given both metrics.
	// ok=false means it cannot be judged from this run.
	Check func(th, peer map[string]float64) (met bool, detail string, ok bool)
}

func atMost(key string, limit float64) func(th, _ map[string]float64) (bool, string, bool) {
	return func(th, _ map[string]float64) (bool, string, bool) {
		v, ok := th[key]
		return ok && v <= limit, "", ok
	}
}

func atLeast(key string, limit float64) func(th, _ map[string]float64) (bool, string, bool) {
	return func(th, _ map[string]float64) (bool, string, bool) {
		v, ok := th[key]
		return ok && v >= limit, "", ok
	}
}

// Rows is the table, in the order of issue 5's targets.
var Rows = []Row{
	{"connect+auth+first frame p50, Go client (existing user, new session)", "first_frame_p50_ms", "ms", "≤ 3 ms", atMost("first_frame_p50_ms", 3)},
	{"connect+auth+first frame p99, Go client", "first_frame_p99_ms", "ms", "", nil},
	{"  of which handshake+auth p50", "auth_p50_ms", "ms", "", nil},
	{"first login (signup + new session) p50, Go client", "first_login_p50_ms", "ms", "", nil},
	{"first login (signup + new session) p99, Go client", "first_login_p99_ms", "ms", "", nil},
	{"OpenSSH client whole process → first screen, attach", "openssh_attach_p50_ms", "ms", "≤ 0.3× sshd+tmux", func(th, peer map[string]float64) (bool, string, bool) {
		a, ok1 := th["openssh_attach_p50_ms"]
		b, ok2 := peer["openssh_attach_p50_ms"]
		if !ok1 || !ok2 || b == 0 {
			return false, "", false
		}
		return a/b <= 0.3, fmt.Sprintf("%.2f×", a/b), true
	}},
	{"OpenSSH client whole process → first screen, new session", "openssh_new_p50_ms", "ms", "", nil},
	{"key→echo p50, one session", "echo_p50_ms", "ms", "≤ 0.5 ms", atMost("echo_p50_ms", 0.5)},
	{"key→echo p99, one session", "echo_p99_ms", "ms", "≤ 1 ms", atMost("echo_p99_ms", 1)},
	{"key→echo p50 under load", "load_echo_p50_ms", "ms", "", nil},
	{"key→echo p99 under load (1,000 attached, 100 typing 10 keys/s)", "load_echo_p99_ms", "ms", "≤ 5 ms", func(th, _ map[string]float64) (bool, string, bool) {
		v, ok := th["load_echo_p99_ms"]
		if !ok {
			return false, "", false
		}
		detail := ""
		if th["load_attached"] < 1000 || th["load_typing"] < 100 || th["load_rate"] < 10 {
			detail = fmt.Sprintf("at %.0f attached, %.0f typing %.0f/s, below target scale", th["load_attached"], th["load_typing"], th["load_rate"])
		}
		return v <= 5, detail, true
	}},
	{"payload bytes per typed character (median)", "bytes_per_key_median", "B", "≤ 2", atMost("bytes_per_key_median", 2)},
	{"payload bytes per typed character (mean, incl. line/title changes)", "bytes_per_key_mean", "B", "", nil},
	{"memory per attached session (PSS)", "mem_attached_kib", "KiB", "≤ 256 KiB", atMost("mem_attached_kib", 256)},
	{"  Go heap live per attached session", "mem_attached_heap_kib", "KiB", "", nil},
	{"  sshd+tmux: sshd processes per connection", "peer_sshd_pss_per_conn_kib", "KiB", "", nil},
	{"  sshd+tmux: tmux client process per attachment", "peer_tmux_client_pss_kib", "KiB", "", nil},
	{"memory per detached session (PSS)", "mem_detached_kib", "KiB", "≤ 16 KiB", atMost("mem_detached_kib", 16)},
	{"  sshd+tmux: tmux server growth per detached session, shell excluded", "peer_tmux_server_per_detached_kib", "KiB", "", nil},
	{"  sshd+tmux: the session's shell (bash) process", "peer_shell_pss_kib", "KiB", "", nil},
	{"  Go heap live per detached session", "mem_detached_heap_kib", "KiB", "", nil},
	{"memory per hibernated session (PSS)", "mem_hibernated_kib", "KiB", "≤ 1 KiB", atMost("mem_hibernated_kib", 1)},
	{"  Go heap live per hibernated session", "mem_hibernated_heap_kib", "KiB", "", nil},
	{"idle CPU per 1,000 attached sessions", "idle_cores_per_1000", "cores", "≤ 0.01 cores", atMost("idle_cores_per_1000", 0.01)},
	{"  idle CPU per 1,000 hibernated sessions (policy sweep every 125 ms)", "idle_hibernated_cores_per_1000", "cores", "", nil},
	{"new sessions to first frame per second", "new_sessions_per_s", "/s", "≥ 1,500/s", atLeast("new_sessions_per_s", 1500)},
	{"  server CPU per new session", "server_cpu_ms_per_new_session", "ms", "", nil},
	{"  new users (signup, no session) per second", "signups_per_s", "/s", "", nil},
	{"concurrent attached sessions without errors", "attached_ok", "", "10,000, 0 errors", func(th, _ map[string]float64) (bool, string, bool) {
		n, ok := th["attached_ok"]
		if !ok {
			return false, "", false
		}
		detail := fmt.Sprintf("%.0f errors", th["attached_errors"])
		if n+th["attached_errors"] < 10000 {
			detail += ", run below 10,000"
		}
		return n >= 10000 && th["attached_errors"] == 0, detail, true
	}},
	{"reattach → frame p99, live (detached in memory)", "reattach_live_p99_ms", "ms", "≤ 25 ms", atMost("reattach_live_p99_ms", 25)},
	{"reattach → frame p99, from hibernation", "reattach_hib_p99_ms", "ms", "≤ 50 ms", atMost("reattach_hib_p99_ms", 50)},
	{"crash: sessions back after kill -9 + restart", "crash_back", "", "all", func(th, _ map[string]float64) (bool, string, bool) {
		n, ok := th["crash_sessions"]
		if !ok {
			return false, "", false
		}
		return th["crash_back"] == n && th["crash_corrupt"] == 0, fmt.Sprintf("of %.0f", n), true
	}},
	{"crash: oldest lost keystroke before the kill", "crash_max_lost_age_ms", "ms", "≤ 200 ms", func(th, _ map[string]float64) (bool, string, bool) {
		v, ok := th["crash_max_lost_age_ms"]
		if !ok {
			return false, "", false
		}
		return v <= 200 && th["crash_late"] == 0, fmt.Sprintf("%.0f of %.0f keys lost", th["crash_lost"], th["crash_typed"]), true
	}},
}

// WriteTable writes the comparison as a Markdown table: termhost, the
// peer (when given), termhost ÷ peer, the target and whether it is met.
func WriteTable(w io.Writer, th, peer map[string]float64) {
	fmt.Fprintln(w, "| metric | termhost | sshd+tmux | termhost ÷ sshd+tmux | target | status |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, r := range Rows {
		a, okA := th[r.Key]
		b, okB := peer[r.Key]
		ratio := "–"
		if okA && okB && b != 0 {
			ratio = fmt.Sprintf("%.2f×", a/b)
		}
		status := ""
		if r.Check != nil {
			met, detail, ok := r.Check(th, peer)
			switch {
			case !ok:
				status = "not measured"
			case met:
				status = "**met**"
			default:
				status = "**NOT met**"
			}
			if detail != "" {
				status += " (" + detail + ")"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Label, cell(a, okA, r.Unit), cell(b, okB, r.Unit), ratio, r.Target, status)
	}
}

func cell(v float64, ok bool, unit string) string {
	if !ok {
		return "–"
	}
	var s string
	switch {
	case v == float64(int64(v)) && (v >= 100 || unit == ""):
		s = fmt.Sprintf("%.0f", v)
	case v >= 100:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	case v >= 0.1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.4f", v)
	}
	return strings.TrimSpace(s + " " + unit)
}
