package abuse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// SessionlessOptions is a flood of SSH connections that log in and then
// run no session (issue 8: 13,020 of them from 40 addresses held 745 MB
// and, under nofile 1500, every file descriptor). With signup on, any name
// logs in with any key, so each connection may use a fresh name.
type SessionlessOptions struct {
	Sources   []string // attacker addresses, at most 200
	PerSource int      // connections each source opens, at most 1000
	// Burst connections open at once per source, then Rate per second (keep
	// it under conn_rate so none is refused for rate); Burst 0: all at once.
	Burst  int
	Rate   float64
	Signer gossh.Signer
	// Name is the account name of source s's i-th connection.
	Name func(s, i int) string
	// Channel makes each connection open one session channel, with no
	// shell or exec, after logging in.
	Channel bool
	// Hold is how long the connections are watched after the last one
	// opened; the attack ends earlier when the server has closed them all.
	Hold time.Duration
}

// SessionlessResult is what the server did with the flood.
type SessionlessResult struct {
	Outcome
	Opened   int           // connections that logged in
	Failed   int           // dials or logins that failed
	Refused  int           // session channels refused (Channel)
	Reason   string        // the first refused channel's reason
	PeakOpen int           // most logged-in connections open at once, as the attacker saw
	PeakFDs  int           // the server's open file descriptors, peak
	Closed   int           // closed by the server during the attack
	Open     int           // still open at the end
	MaxLife  time.Duration // longest login → server close among Closed
}

// Sessionless opens the connections and watches the server close them.
func Sessionless(ctx context.Context, t Target, o SessionlessOptions) (SessionlessResult, error) {
	if len(o.Sources) == 0 || len(o.Sources) > 200 || o.PerSource <= 0 || o.PerSource > 1000 || o.Signer == nil || o.Name == nil {
		return SessionlessResult{}, fmt.Errorf("sessionless flood: want 1..200 sources, 1..1000 each, a signer and names")
	}
	if o.Burst <= 0 || o.Burst > o.PerSource {
		o.Burst = o.PerSource
	}
	var (
		res     SessionlessResult
		mu      sync.Mutex // guards res's counts and clients
		clients []*gossh.Client
		open    atomic.Int64
		ending  atomic.Bool // set before the attacker closes what is left
		wg      sync.WaitGroup
	)
	closed := make(chan time.Duration, len(o.Sources)*o.PerSource)
	fds := watchFDs(t.PID)
	d := func(src string) SSH { return SSH{Addr: t.SSH, Source: src} }
	attack := func(ctx context.Context) error {
		start := time.Now()
		var opening sync.WaitGroup
		for s, src := range o.Sources {
			opening.Go(func() {
				for i := range o.PerSource {
					if i >= o.Burst && o.Rate > 0 {
						at := start.Add(time.Duration(float64(i-o.Burst+1) / o.Rate * float64(time.Second)))
						select {
						case <-time.After(time.Until(at)):
						case <-ctx.Done():
							return
						}
					}
					c, _, err := d(src).handshake(ctx, o.Name(s, i), gossh.PublicKeys(o.Signer))
					if err != nil {
						mu.Lock()
						res.Failed++
						mu.Unlock()
						continue
					}
					at := time.Now()
					n := open.Add(1)
					mu.Lock()
					res.Opened++
					res.PeakOpen = max(res.PeakOpen, int(n))
					clients = append(clients, c)
					mu.Unlock()
					wg.Go(func() {
						c.Wait()
						open.Add(-1)
						if !ending.Load() {
							closed <- time.Since(at)
						}
					})
					if o.Channel {
						if _, _, err := c.OpenChannel("session", nil); err != nil {
							mu.Lock()
							res.Refused++
							var oe *gossh.OpenChannelError
							if res.Reason == "" && errors.As(err, &oe) {
								res.Reason = oe.Message
							}
							mu.Unlock()
						}
					}
				}
			})
		}
		opening.Wait()
		end := time.After(o.Hold)
		for {
			mu.Lock()
			done := res.Closed >= res.Opened
			mu.Unlock()
			if done {
				return nil
			}
			select {
			case life := <-closed:
				mu.Lock()
				res.Closed++
				res.MaxLife = max(res.MaxLife, life)
				mu.Unlock()
			case <-end:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	out, err := t.observe(ctx, false, nil, attack)
	res.PeakFDs = fds()
	ending.Store(true)
	mu.Lock()
	res.Open = res.Opened - res.Closed
	for _, c := range clients {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	res.Outcome = out
	return res, err
}

// EnvOptions is one logged-in connection sending env requests on one
// session channel (issue 8: charm.land/ssh kept them all, 1.4 GB).
type EnvOptions struct {
	Source   string
	User     string
	Signer   gossh.Signer
	Requests int // env requests, at most 100,000
	Size     int // bytes of each value, at most 64 KiB
}

// EnvResult is how the server answered.
type EnvResult struct {
	Outcome
	Accepted, Refused int
	Took              time.Duration
}

// EnvFlood sends the env requests one after another, each awaiting its
// answer, and keeps the channel open until they are all answered.
func EnvFlood(ctx context.Context, t Target, o EnvOptions) (EnvResult, error) {
	if o.Requests <= 0 || o.Requests > 100_000 || o.Size < 0 || o.Size > 64<<10 {
		return EnvResult{}, fmt.Errorf("env flood of %d × %d bytes: want 1..100000 × 0..64 KiB", o.Requests, o.Size)
	}
	var res EnvResult
	value := string(make([]byte, o.Size))
	attack := func(ctx context.Context) error {
		c, _, err := SSH{Addr: t.SSH, Source: o.Source}.handshake(ctx, o.User, gossh.PublicKeys(o.Signer))
		if err != nil {
			return err
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			return err
		}
		defer ch.Close()
		go gossh.DiscardRequests(reqs)
		start := time.Now()
		for i := range o.Requests {
			ok, err := ch.SendRequest("env", true, gossh.Marshal(struct{ Key, Value string }{fmt.Sprintf("X%d", i), value}))
			if err != nil {
				return fmt.Errorf("env request %d: %w", i, err)
			}
			if ok {
				res.Accepted++
			} else {
				res.Refused++
			}
		}
		res.Took = time.Since(start)
		return nil
	}
	out, err := t.observe(ctx, false, nil, attack)
	res.Outcome = out
	return res, err
}

// ChannelOptions is one logged-in connection opening session channels and
// holding them (issue 8: 50,000 cost 308 MB).
type ChannelOptions struct {
	Source   string
	User     string
	Signer   gossh.Signer
	Channels int // at most 100,000
}

// ChannelResult is how the server answered.
type ChannelResult struct {
	Outcome
	Opened, Refused int
	Reason          string // the first refusal's
	Took            time.Duration
}

// ChannelFlood opens the channels one after another and holds the opened
// ones until the end.
func ChannelFlood(ctx context.Context, t Target, o ChannelOptions) (ChannelResult, error) {
	if o.Channels <= 0 || o.Channels > 100_000 {
		return ChannelResult{}, fmt.Errorf("channel flood of %d: want 1..100000", o.Channels)
	}
	var res ChannelResult
	attack := func(ctx context.Context) error {
		c, _, err := SSH{Addr: t.SSH, Source: o.Source}.handshake(ctx, o.User, gossh.PublicKeys(o.Signer))
		if err != nil {
			return err
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		start := time.Now()
		for range o.Channels {
			_, reqs, err := c.OpenChannel("session", nil)
			var oe *gossh.OpenChannelError
			switch {
			case errors.As(err, &oe):
				res.Refused++
				if res.Reason == "" {
					res.Reason = oe.Message
				}
			case err != nil:
				return err
			default:
				res.Opened++
				go gossh.DiscardRequests(reqs)
			}
		}
		res.Took = time.Since(start)
		return nil
	}
	out, err := t.observe(ctx, false, nil, attack)
	res.Outcome = out
	return res, err
}

// FDs counts process pid's open file descriptors.
func FDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// watchFDs samples pid's descriptor count every 100 ms until the returned
// func is called; it returns the peak.
func watchFDs(pid int) (stop func() int) {
	done, finished := make(chan struct{}), make(chan struct{})
	peak := 0
	go func() {
		defer close(finished)
		for {
			if n, err := FDs(pid); err == nil {
				peak = max(peak, n)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(done)
		<-finished
		return peak
	}
}
