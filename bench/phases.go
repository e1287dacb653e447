package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// latency: sequential first frames, live reattach, one-session echo, and
// the OpenSSH client, on one fresh server.
func (r *Runner) latency(ctx context.Context) error {
	srv, err := r.server(ctx, "latency", nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	t := r.on(srv)
	return r.latencyOn(ctx, t, srv)
}

func (r *Runner) latencyOn(ctx context.Context, t Target, srv *Server) error {
	if r.cfg.Phases["first"] {
		// Existing users, new session: the accounts are made first, untimed.
		users := Users(r.prefix, "f", r.cfg.Samples)
		pctx, cancel := r.phaseCtx(ctx, 2*connectBudget(len(users), 1))
		if su := Signup(pctx, t, users, min(r.cfg.Conc, 8)); su.Errors > 0 {
			cancel()
			return fmt.Errorf("signup: %d errors: %s", su.Errors, su.FirstError)
		}
		r.logf("first: %d new sessions of existing users, one at a time", len(users))
		done := r.timed(ctx, "first", srv)
		_, first := Connect(pctx, t, users, 1, DetachIt)
		cancel()
		r.rep.FirstFrame = &first
		r.logf("first: frame %s, auth %s", first.Frame, first.Auth)

		// First login: signup and new session in one connect.
		fresh := Users(r.prefix, "g", r.cfg.Samples)
		pctx, cancel = r.phaseCtx(ctx, connectBudget(len(fresh), 1))
		_, login := Connect(pctx, t, fresh, 1, DetachIt)
		cancel()
		r.rep.FirstLogin = &login
		r.logf("first login (signup + new session): frame %s", login.Frame)

		users = users[:min(r.cfg.Reattach, len(users))]
		pctx, cancel = r.phaseCtx(ctx, connectBudget(len(users), 1))
		_, again := Connect(pctx, t, users, 1, DetachIt)
		cancel()
		r.rep.ReattachLive = &again
		done()
		r.logf("reattach (live, detached in memory): %s", again.Frame)
	}
	if r.cfg.Phases["echo"] {
		if err := r.echo(ctx, t); err != nil {
			return err
		}
	}
	if r.cfg.Phases["openssh"] && srv != nil {
		n := r.cfg.SSHRuns
		pctx, cancel := r.phaseCtx(ctx, time.Duration(2*n)*20*time.Second)
		r.logf("openssh: %d new + %d reattach runs of the OpenSSH client on a pty", n, n)
		done := r.timed(ctx, "openssh", srv)
		users := Users(r.prefix, "o", n)
		res := OpenSSH(pctx, func(i int) []string { return SSHArgs(srv.Addr, r.key, users[i], "") },
			func(int) string { return t.Marker }, t.Detach, n)
		cancel()
		done()
		r.rep.OpenSSH = &res
		r.logf("openssh: new %s, attach %s", res.New, res.Attach)
	}
	return nil
}

func (r *Runner) echo(ctx context.Context, t Target) error {
	pctx, cancel := r.phaseCtx(ctx, 30*time.Second+time.Duration(r.cfg.EchoKeys)*(r.cfg.EchoGap+50*time.Millisecond))
	defer cancel()
	user := r.cfg.PeerUser
	if user == "" {
		user = Users(r.prefix, "e", 1)[0]
	}
	terms, cr := Connect(pctx, t, []string{user}, 1, Keep)
	if cr.OK != 1 {
		return fmt.Errorf("echo session: %s", cr.FirstError)
	}
	defer terms[0].Close()
	r.logf("echo: %d keys on one session, %s apart", r.cfg.EchoKeys, r.cfg.EchoGap)
	done := r.timed(ctx, "echo", nil)
	res := Echo(pctx, terms[0], &Typist{LineLen: 40, Newline: t.Newline}, r.cfg.EchoKeys, r.cfg.EchoGap)
	done()
	r.rep.Echo = &res
	r.logf("echo: %s, %d B median per key, %.2f B mean", res.Latency, res.BytesMedian, res.BytesMean)
	_ = terms[0].detach(t.Detach, time.Now().Add(5*time.Second))
	return nil
}

// warm starts a few sessions and a probe, so that the baseline includes
// the code paths, pools and store pages every session uses.
func (r *Runner) warm(ctx context.Context, srv *Server, tag string, trace *GCTrace) (*Prober, error) {
	t := r.on(srv)
	_, res := Connect(ctx, t, Users(r.prefix, tag+"w", 20), 8, DetachIt)
	if res.Errors > 0 {
		return nil, fmt.Errorf("warm-up: %s", res.FirstError)
	}
	return NewProber(ctx, t, Users(r.prefix, tag+"p", 1)[0], trace, srv.PID)
}

// attached: N sessions connected conc at a time (the rate), held: memory,
// idle CPU, then typing on some of them.
func (r *Runner) attached(ctx context.Context) error {
	trace := &GCTrace{}
	srv, err := r.server(ctx, "attached", trace)
	if err != nil {
		return err
	}
	defer srv.Stop()
	t := r.on(srv)
	probe, err := r.warm(ctx, srv, "a", trace)
	if err != nil {
		return err
	}
	defer probe.Close()
	before, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	users := Users(r.prefix, "a", r.cfg.N)
	pctx, cancel := r.phaseCtx(ctx, 3*connectBudget(len(users), r.cfg.Conc))
	defer cancel()
	r.logf("attached: signing up %d users, %d at a time", len(users), r.cfg.Conc)
	su := Signup(pctx, t, users, r.cfg.Conc)
	r.rep.Signup = &su
	r.logf("attached: %d signups, %.0f/s, %d errors", su.OK, su.PerSecond, su.Errors)
	r.logf("attached: connecting %d sessions, %d at a time", len(users), r.cfg.Conc)
	done := r.timed(ctx, "attached", srv)
	cpu, _ := StartCPU(srv.PID)
	terms, res := Connect(pctx, t, users, r.cfg.Conc, Keep)
	done()
	defer CloseAll(terms)
	if cpu != nil {
		if used, _, err := cpu.Stop(); err == nil && res.OK > 0 {
			r.rep.OpenServerCPU = used / time.Duration(res.OK)
		}
	}
	r.rep.Open = &res
	r.logf("attached: %d ok, %d errors, %.0f sessions/s, frame under load %s", res.OK, res.Errors, res.PerSecond, res.Frame)
	after, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	md := NewMemDelta("attached", res.OK, before, after)
	md.Sessions = r.countState(ctx, srv, r.prefix+"a0", "attached")
	r.rep.Attached = &md
	r.logf("attached: %s per session PSS, %s heap", KiB(md.PSSPer), KiB(md.HeapPer))

	if r.cfg.Idle > 0 {
		r.logf("idle: %d attached sessions, %s window", res.OK, r.cfg.Idle)
		done := r.timed(ctx, "idle", srv)
		if m, err := StartCPU(srv.PID); err == nil {
			time.Sleep(r.cfg.Idle)
			done()
			used, cores, err := m.Stop()
			if err == nil {
				r.rep.Idle = &IdleResult{Sessions: res.OK, Window: r.cfg.Idle.String(), CPU: used, Cores: cores}
				r.logf("idle: %.4f cores (%s CPU)", cores, used)
			}
		}
	}
	if r.cfg.Typing > 0 && r.cfg.LoadDur > 0 {
		r.logf("load: %d of %d typing %.0f keys/s for %s", r.cfg.Typing, res.OK, r.cfg.Rate, r.cfg.LoadDur)
		done := r.timed(ctx, "load", srv)
		m, _ := StartCPU(srv.PID)
		lr := TypeLoad(terms, r.cfg.Typing, r.cfg.Rate, r.cfg.LoadDur, t.Newline)
		done()
		if m != nil {
			_, lr.ServerCores, _ = m.Stop()
		}
		r.rep.Load = &lr
		r.logf("load: echo %s, %d errors, server %.3f cores", lr.Echo.Latency, lr.Echo.Errors, lr.ServerCores)
	}
	return nil
}

// detached: N sessions created and detached conc at a time, so at most
// conc are attached at once; the growth is what detached sessions keep.
func (r *Runner) detached(ctx context.Context) error {
	trace := &GCTrace{}
	srv, err := r.server(ctx, "detached", trace)
	if err != nil {
		return err
	}
	defer srv.Stop()
	probe, err := r.warm(ctx, srv, "d", trace)
	if err != nil {
		return err
	}
	defer probe.Close()
	before, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	users := Users(r.prefix, "d", r.cfg.N)
	pctx, cancel := r.phaseCtx(ctx, connectBudget(len(users), r.cfg.Conc))
	defer cancel()
	r.logf("detached: creating and detaching %d sessions, %d at a time", len(users), r.cfg.Conc)
	done := r.timed(ctx, "detached", srv)
	_, res := Connect(pctx, r.on(srv), users, r.cfg.Conc, DetachIt)
	done()
	after, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	md := NewMemDelta("detached", res.OK, before, after)
	md.Sessions = r.countState(ctx, srv, r.prefix+"d0", "detached")
	if res.Errors > 0 {
		md.Note = fmt.Sprintf("%d errors: %s", res.Errors, res.FirstError)
	}
	r.rep.Detached = &md
	r.logf("detached: %s per session PSS, %s heap", KiB(md.PSSPer), KiB(md.HeapPer))
	return nil
}

// hibernated: like detached on a server with --hibernate-after 1s; waits
// until `sessions list` says they are hibernated, then reattaches some.
func (r *Runner) hibernated(ctx context.Context) error {
	trace := &GCTrace{}
	srv, err := r.server(ctx, "hibernated", trace, "--hibernate-after", "1s")
	if err != nil {
		return err
	}
	defer srv.Stop()
	probe, err := r.warm(ctx, srv, "h", trace)
	if err != nil {
		return err
	}
	defer probe.Close()
	if err := r.waitState(ctx, srv, r.prefix+"hw", "hibernated", 20); err != nil {
		return err
	}
	before, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	users := Users(r.prefix, "h", r.cfg.N)
	pctx, cancel := r.phaseCtx(ctx, connectBudget(len(users), r.cfg.Conc))
	defer cancel()
	r.logf("hibernated: creating and detaching %d sessions, %d at a time", len(users), r.cfg.Conc)
	_, res := Connect(pctx, r.on(srv), users, r.cfg.Conc, DetachIt)
	if err := r.waitState(ctx, srv, r.prefix+"h0", "hibernated", res.OK); err != nil {
		return err
	}
	after, err := probe.Sample(memSettle)
	if err != nil {
		return err
	}
	md := NewMemDelta("hibernated", res.OK, before, after)
	md.Sessions = res.OK
	r.rep.Hibernated = &md
	r.logf("hibernated: %s per session PSS, %s heap", KiB(md.PSSPer), KiB(md.HeapPer))
	if r.cfg.Idle > 0 {
		// Nothing is attached: what is left is the policy sweeper, which
		// runs every 125 ms with --hibernate-after 1s.
		if m, err := StartCPU(srv.PID); err == nil {
			time.Sleep(r.cfg.Idle)
			if used, cores, err := m.Stop(); err == nil {
				r.rep.IdleHibernated = &IdleResult{Sessions: res.OK, Window: r.cfg.Idle.String(), CPU: used, Cores: cores}
				r.logf("hibernated: idle %.4f cores with %d hibernated sessions (%s CPU)", cores, res.OK, used)
			}
		}
	}

	back := users[:min(r.cfg.Reattach, len(users))]
	pctx2, cancel2 := r.phaseCtx(ctx, connectBudget(len(back), 1))
	defer cancel2()
	done := r.timed(ctx, "hibernated", srv)
	_, rr := Connect(pctx2, r.on(srv), back, 1, DetachIt)
	done()
	r.rep.ReattachHibernated = &rr
	r.logf("reattach (from hibernation): %s", rr.Frame)
	return nil
}

// waitState polls `sessions list` until want sessions of users with the
// prefix are in state, for up to 30 s plus 20 ms per session.
func (r *Runner) waitState(ctx context.Context, srv *Server, prefix, state string, want int) error {
	deadline := time.Now().Add(30*time.Second + time.Duration(want)*20*time.Millisecond)
	for {
		got := r.countState(ctx, srv, prefix, state)
		if got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d sessions reached %s", got, want, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (r *Runner) countState(ctx context.Context, srv *Server, prefix, state string) int {
	list, err := srv.Sessions(ctx)
	if err != nil {
		r.logf("sessions list: %v", err)
		return -1
	}
	return CountStates(list, prefix)[state]
}

// crash: the long crash test.
func (r *Runner) crash(ctx context.Context) error {
	srv, err := r.server(ctx, "crash", nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	users := Users(r.prefix, "c", r.cfg.CrashN)
	pctx, cancel := r.phaseCtx(ctx, r.cfg.CrashDur+2*connectBudget(len(users), r.cfg.Conc)+30*time.Second)
	defer cancel()
	r.logf("crash: %d sessions typing %.0f keys/s, kill -9 within %s, restart, reattach", len(users), r.cfg.Rate, r.cfg.CrashDur)
	done := r.timed(ctx, "crash", srv)
	res, err := Crash(pctx, srv, r.on(srv), users, r.cfg.Conc, r.cfg.Rate, r.cfg.CrashDur)
	done()
	r.rep.Crash = &res
	if err != nil {
		return err
	}
	r.logf("crash: %d/%d back, %d of %d keys lost, oldest lost key %s before the kill, %d corrupt",
		res.Back, res.Sessions, res.Lost, res.Typed, Ms(res.MaxLostAge), res.Corrupt)
	return nil
}

// runPeer measures a non-termhost target (sshd + tmux) with the same
// client code: first screen of new and existing sessions, and echo.
func (r *Runner) runPeer(ctx context.Context) error {
	if r.cfg.Addr == "" || r.cfg.PeerUser == "" || r.cfg.PeerMarker == "" {
		return errors.New("peer mode needs -addr, -user, -marker and -command")
	}
	users := make([]string, r.cfg.Samples)
	for i := range users {
		users[i] = r.cfg.PeerUser
	}
	t := r.target
	if r.cfg.Phases["first"] {
		// sshd takes ~90 ms a connect, plus the settle pause.
		pctx, cancel := r.phaseCtx(ctx, 10*time.Second+time.Duration(2*len(users))*(t.Settle+time.Second))
		r.logf("peer: %d new sessions, then attach each again", len(users))
		_, res := Connect(pctx, t, users, 1, DetachIt)
		r.rep.FirstFrame = &res
		_, res2 := Connect(pctx, t, users[:min(r.cfg.Reattach, len(users))], 1, DetachIt)
		cancel()
		r.rep.ReattachLive = &res2
		r.logf("peer: new %s, attach %s", res.Frame, res2.Frame)
	}
	if r.cfg.Phases["openssh"] {
		n := r.cfg.SSHRuns
		pctx, cancel := r.phaseCtx(ctx, time.Duration(2*n)*20*time.Second)
		r.logf("peer openssh: %d new + %d attach runs of the OpenSSH client on a pty", n, n)
		res := OpenSSH(pctx, func(i int) []string {
			return SSHArgs(r.cfg.Addr, r.key, r.cfg.PeerUser, strings.ReplaceAll(t.Dialer.Command, "{i}", fmt.Sprint("o", i)))
		}, func(i int) string { return strings.ReplaceAll(t.Marker, "{i}", fmt.Sprint("o", i)) }, t.Detach, n)
		cancel()
		r.rep.OpenSSH = &res
		r.logf("peer openssh: new %s, attach %s", res.New, res.Attach)
	}
	if r.cfg.Phases["echo"] {
		t.Dialer.Command = strings.ReplaceAll(t.Dialer.Command, "{i}", "echo")
		t.Marker = strings.ReplaceAll(t.Marker, "{i}", "echo")
		return r.echo(ctx, t)
	}
	return nil
}

// runExternal measures a termhost someone else started: latency and
// typing only (no process to read memory or CPU from, no crash test).
func (r *Runner) runExternal(ctx context.Context) error {
	r.rep.note("external server: memory, idle CPU, hibernation and crash phases need a server this tool starts; skipped")
	return r.latencyOn(ctx, r.target, nil)
}

// memSettle is how long the memory phases wait before and after nudging
// the GC: longer than the server's 5 s farewell timer, which keeps a
// closed connection reachable until it fires.
const memSettle = 6 * time.Second
