// Command hostile measures termhost under hostile load (issue 8): for each
// attack it starts a fresh `termhost serve` on loopback with the settings
// the attack needs, runs it from 127.0.0.2 (or 127.0.0.10–39) with package
// bench/abuse, and prints what it measured — guesses per second, CPU for a
// long command or a paste, peak memory, and a legitimate user's time to
// first frame from 127.0.0.9 meanwhile. BENCHMARKS.md ("Hostile load")
// holds the figures.
//
//	go run ./bench/hostile                          # every attack, ~6 min on the fixed server
//	go run ./bench/hostile -attack guess,paste      # some of them
//	go run ./bench/hostile -bin /tmp/termhost-before -json > before.json
//
// It starts its own servers (rather than taking -addr) because each attack
// needs its own settings and the server's PID for memory and CPU.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"termhost/bench"
	"termhost/bench/abuse"
)

// attacks in the order they run.
var attacks = []string{"idle", "paced", "guess", "spread", "proxy", "window", "command", "paste", "stalled"}

func main() { os.Exit(run()) }

func run() int {
	var o options
	var list string
	var asJSON bool
	var total time.Duration
	fs := flag.NewFlagSet("hostile", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "", "termhost binary (default: go build from the module root)")
	fs.StringVar(&list, "attack", "all", "comma list of: "+strings.Join(attacks, ","))
	fs.BoolVar(&asJSON, "json", false, "print the figures as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the data dirs")
	fs.StringVar(&o.logFile, "log", "", "append the servers' logs to this file")
	fs.DurationVar(&o.guessWindow, "guess-window", 30*time.Second, "how long the parallel guessing runs")
	fs.DurationVar(&o.pasteTimeout, "paste-timeout", 180*time.Second, "give up on a paste after this")
	fs.StringVar(&o.pasteSizes, "paste", "262144,1000000", "paste sizes in bytes")
	fs.IntVar(&o.pasteLine, "paste-line", 0, "pasted line length (0: the whole paste is one line)")
	fs.DurationVar(&total, "timeout", 30*time.Minute, "bound on the whole run")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	chosen := attacks
	if list != "all" {
		chosen = strings.Split(list, ",")
		for _, a := range chosen {
			if !slices.Contains(attacks, a) {
				fmt.Fprintf(os.Stderr, "hostile: unknown attack %q (want %s)\n", a, strings.Join(attacks, ","))
				return 2
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	if o.bin == "" {
		root, err := bench.ModuleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
		dir, err := os.MkdirTemp("", "hostile-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if o.bin, err = bench.BuildServer(ctx, root, dir); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
	}
	var rows []row
	failed := false
	for _, a := range chosen {
		fmt.Fprintf(os.Stderr, "hostile: %s …\n", a)
		r, err := runAttack(ctx, a, o)
		rows = append(rows, r...)
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "hostile: %s: %v\n", a, err)
			rows = append(rows, row{Attack: a, Figure: "error", Text: err.Error()})
		}
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
	} else {
		tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "attack\tfigure\tvalue")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Attack, r.Figure, r.String())
		}
		tw.Flush()
	}
	if failed {
		return 1
	}
	return 0
}

// row is one figure.
type row struct {
	Attack string  `json:"attack"`
	Figure string  `json:"figure"`
	Value  float64 `json:"value,omitempty"`
	Unit   string  `json:"unit,omitempty"`
	Text   string  `json:"text,omitempty"`
}

func (r row) String() string {
	if r.Text != "" {
		return r.Text
	}
	return fmt.Sprintf("%.3g %s", r.Value, r.Unit)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b int64) float64        { return float64(b) / (1 << 20) }

// outcome turns the common measurements into rows.
func outcome(attack string, o abuse.Outcome) []row {
	rows := []row{
		{Attack: attack, Figure: "legit first frame max", Value: ms(o.Legit.Max()), Unit: "ms"},
		{Attack: attack, Figure: "legit logins ok/failed", Text: fmt.Sprintf("%d/%d", len(o.Legit.Frames), len(o.Legit.Errors))},
		{Attack: attack, Figure: "server RSS base → peak", Text: fmt.Sprintf("%.0f → %.0f MiB", mib(o.Usage.BaseRSS), mib(o.Usage.PeakRSS))},
		{Attack: attack, Figure: "server CPU", Value: o.Usage.CPU.Seconds(), Unit: "s"},
	}
	if len(o.Legit.Errors) > 0 {
		rows = append(rows, row{Attack: attack, Figure: "legit first error", Text: o.Legit.Errors[0]})
	}
	return rows
}
