package abuse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// GuessOptions is password guessing against Target.Victim.
type GuessOptions struct {
	Telnet  bool     // guess over telnet instead of SSH password auth
	Sources []string // one source: Conns connections from it; several: one guess from each
	Conns   int      // parallel connections from a single source (≤ 200)
	// Repeat: with several sources, each guesses again and again (a new
	// connection when dropped) instead of exactly once.
	Repeat bool
	// Window bounds the attack: answers after it are not counted.
	Window time.Duration
}

// GuessResult is when the server answered each guess (a rejection).
type GuessResult struct {
	Outcome
	Answers []time.Duration // since the start, in arrival order
	Window  time.Duration
	Dials   int // connections opened (including ones refused at once)
}

// PerSecond is the answered guesses per second over the window.
func (g GuessResult) PerSecond() float64 { return float64(len(g.Answers)) / g.Window.Seconds() }

// MaxIn is the most guesses answered within any span of d: a burst of
// answers shows that nothing spaces the guesses out.
func (g GuessResult) MaxIn(d time.Duration) int {
	most := 0
	for i, j := 0, 0; j < len(g.Answers); j++ {
		for g.Answers[j]-g.Answers[i] > d {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// Within counts the guesses answered within d of the start.
func (g GuessResult) Within(d time.Duration) int {
	n := 0
	for _, a := range g.Answers {
		if a <= d {
			n++
		}
	}
	return n
}

// Guess runs the guessing. From one source, each of Conns connections
// guesses as fast as the server answers and reconnects when dropped; from
// several sources, each tries exactly one password (or, with Repeat,
// guesses as one such connection does).
func Guess(ctx context.Context, t Target, o GuessOptions) (GuessResult, error) {
	if len(o.Sources) == 0 || o.Conns > 200 || len(o.Sources) > 200 {
		return GuessResult{}, fmt.Errorf("guessing from %d sources with %d connections: want 1..200", len(o.Sources), o.Conns)
	}
	res := GuessResult{Window: o.Window}
	var mu sync.Mutex
	var dials atomic.Int64
	start := time.Now()
	answered := func() {
		mu.Lock()
		defer mu.Unlock()
		// Timed under mu, so Answers stays in arrival order.
		if d := time.Since(start); d <= o.Window {
			res.Answers = append(res.Answers, d)
		}
	}
	guess := t.guessSSH
	if o.Telnet {
		guess = t.guessTelnet
	}
	out, err := t.observe(ctx, o.Telnet, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithDeadline(ctx, start.Add(o.Window))
		defer cancel()
		var wg sync.WaitGroup
		if len(o.Sources) == 1 {
			for range max(o.Conns, 1) {
				wg.Go(func() {
					for ctx.Err() == nil {
						guess(ctx, o.Sources[0], false, answered, &dials)
					}
				})
			}
		} else {
			for _, src := range o.Sources {
				wg.Go(func() {
					for ctx.Err() == nil {
						guess(ctx, src, !o.Repeat, answered, &dials)
						if !o.Repeat {
							return
						}
					}
				})
			}
		}
		wg.Wait()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	res.Outcome, res.Dials = out, int(dials.Load())
	return res, err
}

// guessSSH is one connection's password guesses. The server answers a
// wrong password with a failure (the client then asks for the next one)
// or, at its attempt limit, with a disconnect.
func (t Target) guessSSH(ctx context.Context, source string, once bool, answered func(), dials *atomic.Int64) {
	n := 0
	cb := func() (string, error) {
		if n > 0 {
			answered() // the server rejected the previous guess
		}
		n++
		return fmt.Sprintf("guess-%d", n), nil
	}
	tries := 0 // until the server disconnects
	if once {
		tries = 1
	}
	dials.Add(1)
	d := SSH{Addr: t.SSH, Source: source, Timeout: time.Until(deadlineOf(ctx))}
	c, _, err := d.handshake(ctx, t.Victim.Name, gossh.RetryableAuthMethod(gossh.PasswordCallback(cb), tries))
	if err == nil {
		c.Close() // a guessed password: not expected
		return
	}
	if n > 0 && (strings.Contains(err.Error(), "unable to authenticate") || strings.Contains(err.Error(), "too many authentication failures")) {
		answered()
	}
	if n == 0 {
		pause(ctx, refusedPause) // refused before auth (rate limit, cap)
	}
}

// guessTelnet is one connection's guesses (the server allows a few, then
// hangs up).
func (t Target) guessTelnet(ctx context.Context, source string, once bool, answered func(), dials *atomic.Int64) {
	dials.Add(1)
	c, err := DialTelnet(ctx, t.Telnet, source, nil, 80, 24)
	if err != nil {
		pause(ctx, refusedPause)
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	deadline := deadlineOf(ctx)
	for n := 1; ctx.Err() == nil; n++ {
		err := c.Guess(t.Victim.Name, fmt.Sprintf("guess-%d", n), deadline)
		if errors.Is(err, ErrThrottled) { // not checked: not an answer
			if once {
				return
			}
			pause(ctx, refusedPause)
			continue
		}
		if err != nil {
			if n == 1 {
				pause(ctx, refusedPause)
			}
			return
		}
		answered()
		if once {
			return
		}
	}
}

// refusedPause is how long a guessing connection waits after the server
// refused it before it tries again: the attack is guessing, not a
// connection flood (60 connections redialling every 50 ms made 1,000
// refused connections a second, which measured the flood instead).
const refusedPause = 200 * time.Millisecond

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
