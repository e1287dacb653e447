package abuse

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// The login-fairness attacks (issue 8, session 3): a few addresses that
// together fill the node-wide unauthenticated cap, one address spraying
// guesses with a signup between them, and many addresses guessing at one
// account while its owner logs in.

// CapOptions is a flood from several sources, each holding PerSource
// silent SSH connections and opening a new one whenever the server closes
// one, so that together they keep the node-wide unauthenticated cap full.
type CapOptions struct {
	Sources   []string // ≤ 32 loopback addresses
	PerSource int      // connections each source holds (≤ 64)
	Hold      time.Duration
}

// CapResult is what the server did with the connections.
type CapResult struct {
	Outcome
	Opened int // connections the kernel accepted (including reopened ones)
	Closed int // closed by the server during the hold (evicted or refused)
}

// capRedialPause is how long a flooding slot waits before reopening a
// closed connection: the attack is holding slots, not a connection flood.
const capRedialPause = 100 * time.Millisecond

// CapFlood fills the cap and holds it while the bystander logs in.
func CapFlood(ctx context.Context, t Target, o CapOptions) (CapResult, error) {
	if len(o.Sources) == 0 || len(o.Sources) > 32 || o.PerSource <= 0 || o.PerSource > 64 {
		return CapResult{}, fmt.Errorf("cap flood of %d×%d connections: want 1..32 sources × 1..64", len(o.Sources), o.PerSource)
	}
	var opened, closed atomic.Int64
	var wg sync.WaitGroup
	slotCtx, stopSlots := context.WithCancel(ctx)
	defer func() { stopSlots(); wg.Wait() }()
	// slot keeps one connection from src open until slotCtx ends; first
	// is signalled once the first connection was accepted (or refused).
	slot := func(src string, first chan<- struct{}) {
		for n := 0; slotCtx.Err() == nil && n < 1000; n++ {
			c, err := dial(slotCtx, t.SSH, src, nil)
			if first != nil {
				first <- struct{}{}
				first = nil
			}
			if err != nil {
				pause(slotCtx, capRedialPause)
				continue
			}
			opened.Add(1)
			stop := context.AfterFunc(slotCtx, func() { c.Close() })
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			if stop() { // the server closed it, not us
				closed.Add(1)
				c.Close()
			}
			pause(slotCtx, capRedialPause)
		}
	}
	setup := func(ctx context.Context) error {
		first := make(chan struct{}, len(o.Sources)*o.PerSource)
		for _, src := range o.Sources {
			for range o.PerSource {
				wg.Go(func() { slot(src, first) })
			}
		}
		for range len(o.Sources) * o.PerSource {
			select {
			case <-first:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	out, err := t.observe(ctx, false, setup, func(ctx context.Context) error {
		pause(ctx, o.Hold)
		return ctx.Err()
	})
	return CapResult{Outcome: out, Opened: int(opened.Load()), Closed: int(closed.Load())}, err
}

// SprayOptions is one source guessing a password at many accounts, one
// guess each in turn, over SSH, optionally signing up a fresh account (a
// successful login) after every guess.
type SprayOptions struct {
	Source   string
	Accounts []string // the names guessed at, in turn
	Signup   bool     // sign up a fresh account after each guess
	Window   time.Duration
}

// SprayResult counts the rejected guesses (GuessResult) and the signups.
type SprayResult struct {
	GuessResult
	Signups int
}

// Spray runs the spraying, one connection at a time.
func Spray(ctx context.Context, t Target, o SprayOptions) (SprayResult, error) {
	if len(o.Accounts) == 0 {
		return SprayResult{}, fmt.Errorf("spraying no accounts")
	}
	res := SprayResult{GuessResult: GuessResult{Window: o.Window}}
	start := time.Now()
	d := SSH{Addr: t.SSH, Source: o.Source}
	tag := start.UnixNano() % 1_000_000
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithDeadline(ctx, start.Add(o.Window))
		defer cancel()
		for i := 0; ctx.Err() == nil && i < 10_000; i++ {
			d.Timeout = time.Until(deadlineOf(ctx))
			name := o.Accounts[i%len(o.Accounts)]
			c, _, err := d.handshake(ctx, name, gossh.RetryableAuthMethod(gossh.Password(fmt.Sprintf("spray-%d", i)), 1))
			if err == nil {
				c.Close()
				return fmt.Errorf("a sprayed guess at %s logged in", name)
			}
			if ctx.Err() != nil {
				break
			}
			if d := time.Since(start); d <= o.Window {
				res.Answers = append(res.Answers, d)
			}
			if o.Signup {
				c, _, err := d.handshake(ctx, fmt.Sprintf("s%d-%d", tag, i), gossh.Password("spray-signup-pw"))
				if err == nil {
					res.Signups++
					c.Close()
				}
			}
		}
		return nil
	})
	res.Outcome = out
	return res, err
}

// OwnerOptions is guessing at Target.Victim from many sources (each
// guessing as fast as the server answers and reconnecting when dropped)
// while the victim's owner logs in with the right password, from an
// address it logged in from before the attack (Known) and from addresses
// it never used (Fresh, one per login).
type OwnerOptions struct {
	Sources []string // the guessers (≤ 200)
	Known   string   // the owner's usual address
	Fresh   []string // a new one for every login from elsewhere
	Window  time.Duration
}

// OwnerResult is the guesses answered and the owner's logins: time from
// dial to the end of authentication, by kind of address. FirstWave is one
// login from a new address started 100 ms into the attack, while every
// guesser's first guess (none of them delayed: the owner from a new
// address looks the same) waits for its check; Known and Fresh start once
// that first wave was answered (or after 3 s).
type OwnerResult struct {
	GuessResult
	FirstWave    Probes
	Known, Fresh Probes
}

// ownerTimeout bounds one login of the owner: well inside the attack's
// window, so that a login the server holds up is counted as failed.
const ownerTimeout = 3 * time.Second

// OwnerUnderGuessing runs the guessing and the owner's logins.
func OwnerUnderGuessing(ctx context.Context, t Target, o OwnerOptions) (OwnerResult, error) {
	if len(o.Sources) == 0 || len(o.Sources) > 200 || len(o.Fresh) < 2 {
		return OwnerResult{}, fmt.Errorf("owner test with %d guessers and %d fresh addresses: want 1..200 and at least 2", len(o.Sources), len(o.Fresh))
	}
	login := func(ctx context.Context, src string) (time.Duration, error) {
		start := time.Now()
		d := SSH{Addr: t.SSH, Source: src, Timeout: ownerTimeout}
		c, _, err := d.handshake(ctx, t.Victim.Name, gossh.Password(t.Victim.Password))
		if err != nil {
			return 0, err
		}
		c.Close()
		return time.Since(start), nil
	}
	// The owner's usual address becomes known to the server.
	if _, err := login(ctx, o.Known); err != nil {
		return OwnerResult{}, fmt.Errorf("owner's login before the attack: %w", err)
	}
	res := OwnerResult{GuessResult: GuessResult{Window: o.Window}}
	var mu sync.Mutex
	var dials atomic.Int64
	start := time.Now()
	answered := func() {
		mu.Lock()
		defer mu.Unlock()
		if d := time.Since(start); d <= o.Window {
			res.Answers = append(res.Answers, d)
		}
	}
	var next atomic.Int64
	fresh := func(ctx context.Context) (time.Duration, error) {
		i := int(next.Add(1)-1) % (len(o.Fresh) - 1) // the last is the first wave's
		return login(ctx, o.Fresh[i])
	}
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithDeadline(ctx, start.Add(o.Window))
		defer cancel()
		var wg sync.WaitGroup
		for _, src := range o.Sources {
			wg.Go(func() {
				for n := 0; ctx.Err() == nil && n < 1000; n++ {
					t.guessSSH(ctx, src, false, answered, &dials)
				}
			})
		}
		pause(ctx, 100*time.Millisecond)
		wg.Go(func() {
			d, err := login(ctx, o.Fresh[len(o.Fresh)-1])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.FirstWave.Errors = append(res.FirstWave.Errors, err.Error())
			} else {
				res.FirstWave.Frames = append(res.FirstWave.Frames, d)
			}
		})
		for wave := time.Now().Add(3 * time.Second); time.Now().Before(wave) && ctx.Err() == nil; {
			mu.Lock()
			n := len(res.Answers)
			mu.Unlock()
			if n >= len(o.Sources) {
				break
			}
			pause(ctx, 20*time.Millisecond)
		}
		known := Watch(ctx, probeEvery, func(ctx context.Context) (time.Duration, error) { return login(ctx, o.Known) })
		freshStop := Watch(ctx, probeEvery, fresh)
		<-ctx.Done()
		res.Known, res.Fresh = known(), freshStop()
		wg.Wait()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	res.Outcome, res.Dials = out, int(dials.Load())
	slices.Sort(res.Answers)
	return res, err
}
