package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Hard caps: the tool never opens more than MaxSessions sessions in one
// phase, and never targets anything but loopback.
const (
	MaxSessions = 10000
	MaxConc     = 512
)

// Phases a run can include.
var AllPhases = []string{"first", "echo", "openssh", "attached", "detached", "hibernated", "crash"}

// Config is one load run.
type Config struct {
	Bin     string // termhost binary (built when empty)
	Addr    string // an already running server; only latency phases run
	KeyFile string // private key for Addr's users (signup accepts any key)
	Phases  map[string]bool
	Keep    bool // keep data dirs
	// Quiet, when > 0, makes each timed phase wait (up to 2 min) until
	// other processes use at most this many cores.
	Quiet float64
	// ServerEnv is extra environment for the servers the tool starts
	// (e.g. GOGC=50), to try runtime settings without code changes.
	ServerEnv []string

	Samples  int // sequential new sessions for first-frame latency
	Reattach int // sequential reattaches (live and from hibernation)
	N        int // sessions held for memory, idle CPU and load
	Conc     int // concurrent connects
	EchoKeys int
	EchoGap  time.Duration
	Typing   int
	Rate     float64
	LoadDur  time.Duration
	Idle     time.Duration
	CrashN   int
	CrashDur time.Duration
	SSHRuns  int

	// Peer mode: the target is not termhost (e.g. sshd + tmux). One
	// existing user, a command run in the pty, its own frame marker.
	PeerUser    string
	PeerCommand string
	PeerMarker  string

	Log io.Writer // progress lines
}

// DefaultConfig is the small run.
func DefaultConfig() Config {
	return Config{Samples: 200, Reattach: 100, N: 100, Conc: 32, EchoKeys: 500, EchoGap: 10 * time.Millisecond,
		Typing: 10, Rate: 10, LoadDur: 10 * time.Second, Idle: 10 * time.Second, CrashN: 20, CrashDur: 5 * time.Second,
		SSHRuns: 10, Phases: phaseSet(AllPhases)}
}

func phaseSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// ParsePhases reads a comma-separated phase list ("all" for every phase).
func ParsePhases(s string) (map[string]bool, error) {
	if s == "" || s == "all" {
		return phaseSet(AllPhases), nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if !phaseSet(AllPhases)[p] {
			return nil, fmt.Errorf("unknown phase %q (phases: %s)", p, strings.Join(AllPhases, ","))
		}
		m[p] = true
	}
	return m, nil
}

// Validate enforces the caps.
func (c *Config) Validate() error {
	for name, v := range map[string]int{"-n": c.N, "-samples": c.Samples, "-reattach": c.Reattach, "-crash-n": c.CrashN} {
		if v < 0 || v > MaxSessions {
			return fmt.Errorf("%s %d: must be 0…%d", name, v, MaxSessions)
		}
	}
	if c.Conc < 1 || c.Conc > MaxConc {
		return fmt.Errorf("-conc %d: must be 1…%d", c.Conc, MaxConc)
	}
	if c.Typing > c.N {
		return fmt.Errorf("-typing %d exceeds -n %d", c.Typing, c.N)
	}
	if c.Rate <= 0 || c.Rate > 1000 {
		return fmt.Errorf("-rate %v: must be in (0, 1000]", c.Rate)
	}
	for name, d := range map[string]time.Duration{"-load-dur": c.LoadDur, "-idle": c.Idle, "-crash-dur": c.CrashDur} {
		if d < 0 || d > 10*time.Minute {
			return fmt.Errorf("%s %s: must be 0…10m", name, d)
		}
	}
	if c.Addr != "" {
		if err := loopbackOnly(c.Addr); err != nil {
			return err
		}
	}
	return nil
}

// Runner holds a run's shared state.
type Runner struct {
	cfg    Config
	dir    string
	key    string // OpenSSH key file
	prefix string
	rep    *Report
	target Target
	cur    *Server // the server of the running phase
}

// Run executes the configured phases, each bounded, and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "thload-")
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, dir: dir, prefix: RunPrefix(), rep: NewReport(cfg)}
	bg := StartBackground()
	defer func() { r.rep.Machine.BackgroundCores = bg.Cores() }()
	r.rep.Background = map[string]float64{}
	if cfg.Keep {
		r.logf("data kept in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	if cfg.PeerCommand != "" {
		r.rep.System = "peer"
		return r.rep, r.runPeer(ctx)
	}
	if cfg.Addr != "" {
		return r.rep, r.runExternal(ctx)
	}
	steps := []struct {
		phase string
		run   func(context.Context) error
	}{
		{"first", r.latency}, {"attached", r.attached}, {"detached", r.detached},
		{"hibernated", r.hibernated}, {"crash", r.crash},
	}
	for _, st := range steps {
		if st.phase == "first" && !(cfg.Phases["first"] || cfg.Phases["echo"] || cfg.Phases["openssh"]) {
			continue
		}
		if st.phase != "first" && !cfg.Phases[st.phase] {
			continue
		}
		if err := st.run(ctx); err != nil {
			if ctx.Err() != nil {
				return r.rep, err
			}
			r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("phase %s failed: %v", st.phase, err))
			r.logf("phase %s failed: %v", st.phase, err)
		}
	}
	return r.rep, nil
}

func (r *Runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (r *Runner) setup(ctx context.Context) error {
	signer, priv, err := NewKey()
	if r.cfg.KeyFile != "" {
		signer, err = LoadKeyFile(r.cfg.KeyFile)
		r.key = r.cfg.KeyFile
	}
	if err != nil {
		return err
	}
	if r.key == "" {
		if r.key, err = WriteKeyFile(r.dir, priv); err != nil {
			return err
		}
	}
	r.target = Target{Dialer: Dialer{Addr: r.cfg.Addr, Signer: signer}, Marker: "ctrl+b ? help",
		Detach: []byte{0x02, 'd'}, Newline: []byte{'\r'}}
	if r.cfg.PeerCommand != "" {
		r.target.Dialer.Command = r.cfg.PeerCommand
		r.target.Marker = r.cfg.PeerMarker
		r.target.Newline = []byte{0x15} // ctrl+u: clear the shell's line, run nothing
		r.target.Settle = 300 * time.Millisecond
	}
	if r.cfg.Addr != "" || r.cfg.Bin != "" {
		return nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return fmt.Errorf("%w (or pass -bin)", err)
	}
	r.rep.Machine.Build = GitVersion(root)
	r.logf("building termhost from %s (%s)", root, r.rep.Machine.Build)
	r.cfg.Bin, err = BuildServer(ctx, root, r.dir)
	return err
}

// server starts a fresh termhost on its own data dir. gctrace makes the
// Go runtime report its heap at every GC (for the memory phases).
//
// OneSourceEnv turns off the per-source rules for a load run: every load
// connection comes from 127.0.0.1, and the per-source connection rate
// (conn_rate, 10/s), unauthenticated cap (max_unauthenticated_per_source,
// 8), logged-in cap (max_ssh_conns_per_source, 64) and signups
// (signup_rate, 10/h) would refuse the load itself.
var OneSourceEnv = []string{"TERMHOST_CONN_RATE=0", "TERMHOST_MAX_UNAUTHENTICATED_PER_SOURCE=0", "TERMHOST_MAX_SSH_CONNS_PER_SOURCE=0", "TERMHOST_SIGNUP_RATE=0"}

func (r *Runner) server(ctx context.Context, name string, trace *GCTrace, args ...string) (*Server, error) {
	// -server-env entries come later and win.
	env := append(slices.Clone(OneSourceEnv), r.cfg.ServerEnv...)
	r.rep.note("servers ran with " + strings.Join(OneSourceEnv, ", ") + ": all load comes from one source, 127.0.0.1")
	opts := ServerOptions{Bin: r.cfg.Bin, DataDir: filepath.Join(r.dir, name), Args: args, Env: env}
	if r.cfg.Conc > 48 {
		// The server refuses more than 64 connections that have not
		// authenticated yet; a wide connect burst needs a higher cap.
		opts.Env = append(opts.Env, fmt.Sprintf("TERMHOST_MAX_UNAUTHENTICATED=%d", 4*r.cfg.Conc))
		r.rep.note(fmt.Sprintf("servers ran with TERMHOST_MAX_UNAUTHENTICATED=%d for -conc %d", 4*r.cfg.Conc, r.cfg.Conc))
	}
	if trace != nil {
		opts.Env = append(opts.Env, "GODEBUG=gctrace=1")
		opts.Stderr = trace
	}
	srv, err := StartServer(ctx, opts)
	if err != nil {
		return nil, err
	}
	r.logf("%s: termhost pid %d on %s %s", name, srv.PID, srv.Addr, strings.Join(args, " "))
	r.cur = srv
	return srv, nil
}

// timed waits for a quiet machine (with -quiet) and returns a function
// that records the background CPU of the phase when it ends.
func (r *Runner) timed(ctx context.Context, phase string, srv *Server) func() {
	if srv == nil {
		srv = r.cur
	}
	var pids []int
	if srv != nil {
		pids = append(pids, srv.PID)
	}
	if r.cfg.Quiet > 0 {
		if c := WaitQuiet(ctx, r.cfg.Quiet, quietWait, pids...); c > r.cfg.Quiet {
			r.logf("%s: the machine did not get quiet (others use %.2f cores); measuring anyway", phase, c)
		}
	}
	b := StartBackground(pids...)
	return func() { r.rep.Background[phase] = b.Cores() }
}

func (r *Runner) on(srv *Server) Target {
	t := r.target
	t.Dialer.Addr = srv.Addr
	return t
}

// phaseCtx bounds a phase by d, plus the longest -quiet wait it may do.
func (r *Runner) phaseCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if r.cfg.Quiet > 0 {
		d += quietWait
	}
	return context.WithTimeout(ctx, d)
}

// quietWait bounds one wait for a quiet machine (-quiet).
const quietWait = 2 * time.Minute

// connectBudget bounds a connect phase of n sessions, conc at a time:
// 10 s, plus 10 ms a session, plus 200 ms a session divided by conc.
func connectBudget(n, conc int) time.Duration {
	return 10*time.Second + time.Duration(n)*(10*time.Millisecond+200*time.Millisecond/time.Duration(max(conc, 1)))
}

func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host != "127.0.0.1" && host != "localhost" && host != "::1" {
		return fmt.Errorf("-addr %s: the load tool only sends traffic to loopback", addr)
	}
	return nil
}
