// Command thload is termhost's load tool. It starts real `termhost serve`
// processes on 127.0.0.1 with fresh data dirs (or targets one with -addr),
// opens SSH sessions with a pty using the Go x/crypto client, and measures
// first-frame, reattach and key→echo latency, payload bytes per key,
// memory per attached/detached/hibernated session, idle CPU, session
// creation rate, and a kill -9 crash test. Every phase is bounded in
// sessions (≤ 10,000) and time. See BENCHMARKS.md.
//
//	go run ./bench/thload                        # the small run
//	go run ./bench/thload -n 1000 -typing 100    # the issue-5 scale
//	go run ./bench/thload -json > th.json        # machine-readable
//	go run ./bench/thload -from th.json -compare peer.json   # the table only
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"termhost/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg := bench.DefaultConfig()
	var phases, compare, from string
	var jsonOut bool
	var total time.Duration
	fs := flag.NewFlagSet("thload", flag.ContinueOnError)
	fs.StringVar(&cfg.Bin, "bin", "", "termhost binary (default: go build from the module root)")
	fs.StringVar(&cfg.Addr, "addr", "", "target an already running server at this loopback address (latency phases only)")
	fs.StringVar(&cfg.KeyFile, "key", "", "private key file for the users (default: a generated ed25519 key)")
	fs.StringVar(&phases, "phases", "all", "comma list of: "+strings.Join(bench.AllPhases, ","))
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the data dirs")
	fs.Float64Var(&cfg.Quiet, "quiet", 0, "before each timed phase wait (≤ 2 min) until other processes use at most this many cores (0: don't wait)")
	fs.IntVar(&cfg.Samples, "samples", cfg.Samples, "sequential new sessions for first-frame latency")
	fs.IntVar(&cfg.Reattach, "reattach", cfg.Reattach, "sequential reattaches, live and from hibernation")
	fs.IntVar(&cfg.N, "n", cfg.N, "sessions held for memory, idle CPU and load (≤ 10000)")
	fs.IntVar(&cfg.Conc, "conc", cfg.Conc, "concurrent connects (above 48 the servers get TERMHOST_MAX_UNAUTHENTICATED=4×conc)")
	fs.IntVar(&cfg.EchoKeys, "echo-keys", cfg.EchoKeys, "keys typed on one session")
	fs.DurationVar(&cfg.EchoGap, "echo-gap", cfg.EchoGap, "pause between an echo and the next key")
	fs.IntVar(&cfg.Typing, "typing", cfg.Typing, "sessions typing during the load phase (of -n)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "keys per second per typing session (load and crash)")
	fs.DurationVar(&cfg.LoadDur, "load-dur", cfg.LoadDur, "typing duration under load")
	fs.DurationVar(&cfg.Idle, "idle", cfg.Idle, "idle CPU window")
	fs.IntVar(&cfg.CrashN, "crash-n", cfg.CrashN, "typing sessions in the crash test")
	fs.DurationVar(&cfg.CrashDur, "crash-dur", cfg.CrashDur, "the kill comes at a random moment in the second half of this")
	fs.IntVar(&cfg.SSHRuns, "ssh-runs", cfg.SSHRuns, "OpenSSH client runs (new, then as many reattaches)")
	fs.StringVar(&cfg.PeerCommand, "peer-command", "", "peer mode: command to run in the pty, {i} = session index (e.g. 'tmux new -A -s b{i}')")
	fs.StringVar(&cfg.PeerMarker, "peer-marker", "", "peer mode: text that marks a complete first screen, {i} = index")
	fs.StringVar(&cfg.PeerUser, "peer-user", "", "peer mode: the existing user to log in as")
	fs.Func("server-env", "KEY=VALUE for the servers the tool starts (repeatable), e.g. GOGC=50", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		cfg.ServerEnv = append(cfg.ServerEnv, v)
		return nil
	})
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&compare, "compare", "", "comma list of peer JSON reports to put beside termhost in the table")
	fs.StringVar(&from, "from", "", "comma list of saved termhost JSON reports: print the table without running")
	fs.DurationVar(&total, "timeout", 60*time.Minute, "bound on the whole run")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	var err error
	if cfg.Phases, err = bench.ParsePhases(phases); err != nil {
		fmt.Fprintln(os.Stderr, "thload:", err)
		return 2
	}
	peer := map[string]float64{}
	if compare != "" {
		if peer, err = bench.ReadMetrics(strings.Split(compare, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "thload:", err)
			return 1
		}
	}
	if from != "" {
		th, err := bench.ReadMetrics(strings.Split(from, ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, "thload:", err)
			return 1
		}
		bench.WriteTable(os.Stdout, th, peer)
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	cfg.Log = os.Stderr
	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintln(os.Stderr, "thload:", err)
		return 1
	}
	if jsonOut {
		if err := rep.WriteJSON(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "thload:", err)
			return 1
		}
	} else {
		rep.Flatten()
		fmt.Printf("%s %s, %d CPUs, %d GiB, Linux %s, %s — %s\n%s\n\n", rep.System, rep.Machine.Build, rep.Machine.CPUs, rep.Machine.MemGiB,
			rep.Machine.Kernel, rep.Machine.Go, rep.Machine.Date, rep.Config)
		bench.WriteTable(os.Stdout, rep.Metrics, peer)
		fmt.Printf("\nother processes used %.2f cores on average during the run", rep.Machine.BackgroundCores)
		for _, p := range slices.Sorted(maps.Keys(rep.Background)) {
			fmt.Printf("; %s %.2f", p, rep.Background[p])
		}
		fmt.Println()
		for _, n := range rep.Notes {
			fmt.Println("note:", n)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "thload:", err)
		return 1
	}
	return 0
}
