package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"termhost/bench"
	"termhost/bench/abuse"
)

// runAttack starts a server configured for the attack, runs it and
// returns its rows.
func runAttack(ctx context.Context, name string, o options) ([]row, error) {
	var env []string
	switch name {
	case "idle":
		// The rate limit off: the flood must be bounded by login_grace and
		// the per-source cap alone. 3 s is longer than telnet's 2 s
		// negotiation wait, which closed sockets by accident before.
		env = []string{"LOGIN_GRACE=3s", "CONN_RATE=0"}
	case "proxy":
		// A build before issue 8 has no proxy_trusted and trusts everyone.
		env = []string{"PROXY_PROTOCOL=true", "PROXY_TRUSTED=" + abuse.TrustedProxy + "/32"}
	}
	s, err := startServer(ctx, o, env...)
	if err != nil {
		return nil, err
	}
	defer s.stop(o)
	t, err := s.target(ctx)
	if err != nil {
		return nil, err
	}
	bg := bench.StartBackground(t.PID)
	var rows []row
	switch name {
	case "idle":
		rows, err = idle(ctx, t)
	case "paced":
		rows, err = paced(ctx, o, t)
	case "guess":
		rows, err = guess(ctx, o, t, false)
	case "spread":
		rows, err = guess(ctx, o, t, true)
	case "proxy":
		rows, err = proxy(ctx, t)
	case "window":
		rows, err = window(ctx, t)
	case "command":
		rows, err = command(ctx, t)
	case "paste":
		rows, err = paste(ctx, o, t)
	case "stalled":
		rows, err = stalled(ctx, t)
	}
	rows = append(rows, row{Attack: name, Figure: "other processes' load meanwhile", Value: bg.Cores(), Unit: "cores"})
	return rows, err
}

func floodRows(attack string, r abuse.FloodResult) []row {
	return append([]row{
		{Attack: attack, Figure: "connections opened/closed by server/still open", Text: fmt.Sprintf("%d/%d/%d", r.Opened, r.Closed, r.Open)},
		{Attack: attack, Figure: "longest open → server close", Value: ms(r.MaxLife), Unit: "ms"},
	}, outcome(attack, r.Outcome)...)
}

// idle: 100 silent sockets on each transport at once, then 10 that send
// a byte every 500 ms, with login_grace 3 s (longer than telnet's 2 s
// negotiation wait), each watched for grace + 1 s.
func idle(ctx context.Context, t abuse.Target) ([]row, error) {
	r, err := abuse.Flood(ctx, t, abuse.FloodOptions{Addrs: []string{t.SSH, t.Telnet}, Source: abuse.AttackSource, N: 100, Hold: 4 * time.Second})
	rows := floodRows("idle ssh+telnet 100+100", r)
	if err != nil {
		return rows, err
	}
	r, err = abuse.Flood(ctx, t, abuse.FloodOptions{Addrs: []string{t.Telnet}, Source: abuse.AttackSource, N: 10, Drip: 500 * time.Millisecond, Hold: 4 * time.Second})
	return append(rows, floodRows("drip telnet 10 (1 byte/500 ms)", r)...), err
}

// paced: 40 at once, then 9 a second (the default rate is 10), 72 in all,
// held with the default login_grace; each transport on its own server.
func paced(ctx context.Context, o options, t abuse.Target) ([]row, error) {
	r, err := abuse.Flood(ctx, t, abuse.FloodOptions{Addrs: []string{t.SSH}, Source: abuse.AttackSource, N: 72, Burst: 40, Rate: 9, Hold: 2 * time.Second})
	rows := floodRows("paced ssh 72 (40 + 9/s)", r)
	if err != nil {
		return rows, err
	}
	s2, err := startServer(ctx, o)
	if err != nil {
		return rows, err
	}
	defer s2.stop(o)
	t2, err := s2.target(ctx)
	if err != nil {
		return rows, err
	}
	r, err = abuse.Flood(ctx, t2, abuse.FloodOptions{Addrs: []string{t2.Telnet}, Source: abuse.AttackSource, N: 72, Burst: 40, Rate: 9, Hold: 2 * time.Second})
	return append(rows, floodRows("paced telnet 72 (40 + 9/s)", r)...), err
}

// guess: 60 connections from one source for -guess-window, or (spread)
// one guess from each of 30 sources; SSH on t, telnet on a fresh server so
// that the SSH half's failures do not slow it.
func guess(ctx context.Context, o options, t abuse.Target, spread bool) ([]row, error) {
	rows, err := guessRun(ctx, o, t, false, spread)
	if err != nil {
		return rows, err
	}
	s, err := startServer(ctx, o)
	if err != nil {
		return rows, err
	}
	defer s.stop(o)
	t2, err := s.target(ctx)
	if err != nil {
		return rows, err
	}
	more, err := guessRun(ctx, o, t2, true, spread)
	return append(rows, more...), err
}

func guessRun(ctx context.Context, o options, t abuse.Target, telnet, spread bool) ([]row, error) {
	transport := map[bool]string{false: "ssh", true: "telnet"}[telnet]
	opts := abuse.GuessOptions{Telnet: telnet, Sources: []string{abuse.AttackSource}, Conns: 60, Window: o.guessWindow}
	name := "guess " + transport + " 60 conns, 1 source"
	if spread {
		opts = abuse.GuessOptions{Telnet: telnet, Sources: abuse.SpreadSources(30), Window: 20 * time.Second}
		name = "guess " + transport + " 1 account, 30 sources"
	}
	r, err := abuse.Guess(ctx, t, opts)
	var rows []row
	if spread {
		last := time.Duration(0)
		if len(r.Answers) > 0 {
			last = r.Answers[len(r.Answers)-1]
		}
		rows = append(rows,
			row{Attack: name, Figure: "most guesses answered in any 1 s", Value: float64(r.MaxIn(time.Second)), Unit: "of 30"},
			row{Attack: name, Figure: "guesses answered / last answer at", Text: fmt.Sprintf("%d / %.2f s", len(r.Answers), last.Seconds())})
	} else {
		rows = append(rows,
			row{Attack: name, Figure: "guesses/s (per source = per account)", Value: r.PerSecond(), Unit: "/s"},
			row{Attack: name, Figure: "most guesses answered in any 1 s", Value: float64(r.MaxIn(time.Second))},
			row{Attack: name, Figure: "guesses answered / connections", Text: fmt.Sprintf("%d / %d in %s", len(r.Answers), r.Dials, r.Window)})
	}
	return append(rows, outcome(name, r.Outcome)...), err
}

// proxy: forged headers from an untrusted source, real ones from the
// trusted load balancer.
func proxy(ctx context.Context, t abuse.Target) ([]row, error) {
	cases := []struct {
		name string
		o    abuse.ProxyOptions
	}{
		{"untrusted ssh v1", abuse.ProxyOptions{Source: abuse.AttackSource, Claim: netip.MustParseAddrPort("10.0.0.1:40001")}},
		{"untrusted ssh v2", abuse.ProxyOptions{Source: abuse.AttackSource, Claim: netip.MustParseAddrPort("10.0.0.2:40002"), V2: true}},
		{"untrusted telnet v1", abuse.ProxyOptions{Telnet: true, Source: abuse.AttackSource, Claim: netip.MustParseAddrPort("10.0.0.3:40003")}},
		{"trusted ssh v2", abuse.ProxyOptions{Source: abuse.TrustedProxy, Claim: netip.MustParseAddrPort("10.1.2.3:50001"), V2: true}},
		{"trusted telnet v1", abuse.ProxyOptions{Telnet: true, Source: abuse.TrustedProxy, Claim: netip.MustParseAddrPort("10.1.2.4:50002")}},
	}
	// With proxy_protocol on, users come through the load balancer.
	t.LegitVia, t.LegitClaim = abuse.TrustedProxy, netip.MustParseAddrPort("192.0.2.9:40009")
	var rows []row
	for _, c := range cases {
		c.o.User = t.Attackers[0]
		name := "proxy " + c.name
		r, err := abuse.Proxy(ctx, t, c.o)
		served := "refused: " + r.Err
		if r.Served {
			served = "served, listed as " + r.SeenAs
		}
		rows = append(rows, row{Attack: name, Figure: "header claiming " + c.o.Claim.String(), Text: served})
		rows = append(rows, outcome(name, r.Outcome)...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// window: 4 clients at 65535×65535 held for 3 s.
func window(ctx context.Context, t abuse.Target) ([]row, error) {
	name := "window 65535×65535 ×4"
	r, err := abuse.HugeWindow(ctx, t, abuse.WindowOptions{Source: abuse.AttackSource, Clients: 4, Width: 65535, Height: 65535, Hold: 3 * time.Second, Timeout: time.Minute})
	rows := []row{
		{Attack: name, Figure: "clients served", Value: float64(r.Served), Unit: "of 4"},
		{Attack: name, Figure: "output to the 4 clients", Value: mib(r.Bytes), Unit: "MiB"},
	}
	if len(r.Errors) > 0 {
		rows = append(rows, row{Attack: name, Figure: "client error", Text: r.Errors[0]})
	}
	return append(rows, outcome(name, r.Outcome)...), err
}

// command: one SSH exec of a 240 KiB word.
func command(ctx context.Context, t abuse.Target) ([]row, error) {
	name := "command 240 KiB word"
	r, err := abuse.LongCommand(ctx, t, abuse.CommandOptions{Source: abuse.AttackSource, Size: 240 << 10, Timeout: 60 * time.Second})
	rows := []row{
		{Attack: name, Figure: "answered after", Value: r.Took.Seconds(), Unit: "s"},
		{Attack: name, Figure: "exit status / said", Text: fmt.Sprintf("%d / %q %s", r.Exit, strings.TrimSpace(r.Output), r.Err)},
	}
	return append(rows, outcome(name, r.Outcome)...), err
}

// paste: each -paste size into a new session's Notes.
func paste(ctx context.Context, o options, t abuse.Target) ([]row, error) {
	var rows []row
	for i, f := range strings.Split(o.pasteSizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || size <= 0 || size > 4<<20 {
			return rows, fmt.Errorf("paste size %q: want 1..4194304 bytes", f)
		}
		name := fmt.Sprintf("paste %d KB, one line", size/1000)
		if o.pasteLine > 0 {
			name = fmt.Sprintf("paste %d KB, lines of %d", size/1000, o.pasteLine)
		}
		// Each size as another attacker: a fresh session and document.
		tt := t
		tt.Attackers = t.Attackers[i%len(t.Attackers):]
		r, err := abuse.Paste(ctx, tt, abuse.PasteOptions{Source: abuse.AttackSource, Size: size, Line: o.pasteLine, Timeout: o.pasteTimeout})
		took := fmt.Sprintf("%.2f s", r.Took.Seconds())
		if !r.Done {
			took = fmt.Sprintf("not done after %.0f s (%s)", r.Took.Seconds(), r.Err)
		}
		rows = append(rows, row{Attack: name, Figure: "paste taken, session answers again after", Text: took})
		rows = append(rows, outcome(name, r.Outcome)...)
		if err != nil || !r.Done {
			// The session may still be chewing; later sizes would only
			// measure the queue.
			return rows, err
		}
	}
	return rows, nil
}

// stalled: a client that stops reading while its shared session repaints.
func stalled(ctx context.Context, t abuse.Target) ([]row, error) {
	name := "stalled reader 200×60, 5 s"
	r, err := abuse.Stalled(ctx, t, abuse.StallOptions{Source: abuse.AttackSource, Width: 200, Height: 60, Dur: 5 * time.Second})
	var worst time.Duration
	for _, e := range r.Echoes {
		worst = max(worst, e)
	}
	rows := []row{
		{Attack: name, Figure: "other client's echo max (keys/missed)", Text: fmt.Sprintf("%.1f ms (%d/%d)", ms(worst), len(r.Echoes), r.Missed)},
		{Attack: name, Figure: "window changes from the stalled client", Value: float64(r.Resizes)},
	}
	return append(rows, outcome(name, r.Outcome)...), err
}
