package abuse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// FloodOptions is a flood of connections from one source that never log
// in.
type FloodOptions struct {
	Addrs  []string // the listeners to flood (the bystander logs in on each transport)
	Source string
	N      int     // connections to each listener, at most 1000
	Burst  int     // opened at once before pacing; 0 means all N
	Rate   float64 // connections per second after the burst
	// Drip > 0 makes each connection send one byte this often instead of
	// staying silent (a slow loris).
	Drip time.Duration
	// Hold is how long the flood is watched after its last connection
	// opened; the attack ends earlier when the server has closed them all.
	Hold time.Duration
}

// FloodResult is what the server did with the flood.
type FloodResult struct {
	Outcome
	Opened   int           // connections the kernel accepted, on all listeners
	DialErrs int           // connections that could not be opened
	Closed   int           // closed by the server during the attack
	Open     int           // still open at the end
	MaxLife  time.Duration // longest open → server-close among Closed
}

// Flood opens the connections and watches the server close them.
func Flood(ctx context.Context, t Target, o FloodOptions) (FloodResult, error) {
	if o.N <= 0 || o.N > 1000 || len(o.Addrs) == 0 || len(o.Addrs) > 4 {
		return FloodResult{}, fmt.Errorf("flood of %d connections to %d listeners: want 1..1000 to 1..4", o.N, len(o.Addrs))
	}
	if o.Burst <= 0 || o.Burst > o.N {
		o.Burst = o.N
	}
	telnet := slices.Contains(o.Addrs, t.Telnet)
	var res FloodResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	var conns []*stallConn
	closed := make(chan time.Duration, o.N*len(o.Addrs))
	start := time.Now()
	open := func(ctx context.Context, from, to int) error {
		for i := from; i < to; i++ {
			if i >= o.Burst && o.Rate > 0 {
				at := start.Add(time.Duration(float64(i-o.Burst+1) / o.Rate * float64(time.Second)))
				select {
				case <-time.After(time.Until(at)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			for _, addr := range o.Addrs {
				c, err := dial(ctx, addr, o.Source, nil)
				if err != nil {
					res.DialErrs++
					continue
				}
				now := time.Now()
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				wg.Go(func() { watchClose(c, now, o.Drip, closed) })
			}
		}
		return nil
	}
	burst := func(ctx context.Context) error { return open(ctx, 0, o.Burst) }
	out, err := t.observe(ctx, telnet, burst, func(ctx context.Context) error {
		if err := open(ctx, o.Burst, o.N); err != nil {
			return err
		}
		res.Opened = len(conns)
		end := time.After(o.Hold)
		for res.Closed < res.Opened {
			select {
			case life := <-closed:
				res.Closed++
				res.MaxLife = max(res.MaxLife, life)
			case <-end:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	res.Open = res.Opened - res.Closed
	res.Outcome = out
	return res, err
}

// watchClose reads (and drops) what the server sends until it closes c,
// then reports how long c lived. With drip, it also sends a byte that often.
func watchClose(c *stallConn, opened time.Time, drip time.Duration, closed chan<- time.Duration) {
	if drip > 0 {
		go func() {
			for {
				select {
				case <-c.closed:
					return
				case <-time.After(drip):
				}
				if _, err := c.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}()
	}
	buf := make([]byte, 1024)
	for {
		if _, err := c.Conn.Read(buf); err != nil {
			select {
			case <-c.closed: // closed by us at the end: not the server's doing
			default:
				if !errors.Is(err, context.Canceled) {
					closed <- time.Since(opened)
				}
			}
			return
		}
	}
}
