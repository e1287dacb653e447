package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is what a phase connects to.
type Target struct {
	Dialer Dialer
	// Marker is in the byte stream once a frame is complete: termhost's
	// status bar ends in "ctrl+b ? help", the last cells it draws. "{i}"
	// is replaced by the session's index (for tmux session names).
	Marker string
	// Detach is the key sequence that detaches (ctrl+b d for both
	// termhost and tmux).
	Detach []byte
	// Newline ends a typed line: Enter in Notes; for a shell, ctrl+u
	// (clear the line) so nothing runs.
	Newline []byte
	// Settle is a pause after the first frame before any key (untimed).
	// tmux drops keys that arrive while it still waits for answers to the
	// terminal queries it sends on attach, which this client does not
	// answer; termhost needs none.
	Settle time.Duration
}

func (t Target) marker(i int) string { return strings.ReplaceAll(t.Marker, "{i}", fmt.Sprint(i)) }

func (t Target) dialer(i int) Dialer {
	d := t.Dialer
	d.Command = strings.ReplaceAll(d.Command, "{i}", fmt.Sprint(i))
	return d
}

// ConnectResult describes many connects to a first frame.
type ConnectResult struct {
	Frame  Summary `json:"frame"` // dial start → complete first frame
	Auth   Summary `json:"auth"`  // dial start → authenticated
	Shell  Summary `json:"shell"` // dial start → shell request accepted
	OK     int     `json:"ok"`
	Errors int     `json:"errors"`
	// FirstError says what the first failure was, if any.
	FirstError string        `json:"first_error,omitempty"`
	Wall       time.Duration `json:"wall_ns"`
	// PerSecond is OK / Wall: sessions brought to their first frame per
	// second of wall time.
	PerSecond float64 `json:"per_second"`
}

// After says what to do with a session once its first frame arrived.
type After int

// What to do after the first frame.
const (
	Keep       After = iota // leave it attached and return it
	DetachIt                // detach (ctrl+b d) and wait for the server to close
	Disconnect              // drop the connection
)

// Connect brings users[i] to a first frame, conc at a time, and returns
// the terminals it kept (nil entries for failures or sessions not kept).
// The whole phase is bounded by ctx.
func Connect(ctx context.Context, t Target, users []string, conc int, after After) ([]*Term, ConnectResult) {
	var frame, auth, shell Samples
	terms := make([]*Term, len(users))
	var errs atomic.Int64
	var firstErr sync.Once
	res := ConnectResult{}
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for i, u := range users {
		if ctx.Err() != nil {
			errs.Add(int64(len(users) - i))
			firstErr.Do(func() { res.FirstError = ctx.Err().Error() })
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			term, err := connectOne(ctx, t, i, u, after)
			if err != nil {
				errs.Add(1)
				firstErr.Do(func() { res.FirstError = err.Error() })
				return
			}
			frame.Add(term.Timing.Frame)
			auth.Add(term.Timing.Auth)
			shell.Add(term.Timing.Shell)
			if after == Keep {
				terms[i] = term
			}
		}()
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.Frame, res.Auth, res.Shell = frame.Summary(), auth.Summary(), shell.Summary()
	res.OK, res.Errors = frame.Len(), int(errs.Load())
	if res.Wall > 0 {
		res.PerSecond = float64(res.OK) / res.Wall.Seconds()
	}
	return terms, res
}

func connectOne(ctx context.Context, t Target, i int, user string, after After) (*Term, error) {
	d := t.dialer(i)
	term, err := d.Dial(ctx, user)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(d.defaults().Timeout)
	if err := term.WaitFrame(t.marker(i), deadline); err != nil {
		term.Close()
		return nil, err
	}
	time.Sleep(t.Settle)
	switch after {
	case DetachIt:
		err := term.detach(t.Detach, deadline)
		term.Close()
		return term, err
	case Disconnect:
		term.Close()
	}
	return term, nil
}

// detach sends the detach keys and waits for the channel to close.
func (t *Term) detach(keys []byte, deadline time.Time) error {
	if _, err := t.Send(keys); err != nil {
		return err
	}
	return t.WaitClosed(deadline)
}

// Signup logs each user in once with a non-interactive command ("ls"),
// which creates the account (termhost signs up unknown names at first
// login) without starting a session, so that later phases time sessions,
// not signups. Frame holds the time to the command's end.
func Signup(ctx context.Context, t Target, users []string, conc int) ConnectResult {
	sem := make(chan struct{}, max(conc, 1))
	var lat Samples
	var errs atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for _, u := range users {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := t.Dialer
			d.Command = "ls"
			term, err := d.Dial(ctx, u)
			if err == nil {
				err = term.WaitClosed(time.Now().Add(d.defaults().Timeout))
				lat.Add(time.Since(term.start))
				term.Close()
			}
			if err != nil {
				errs.Add(1)
				first.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	wg.Wait()
	res := ConnectResult{Frame: lat.Summary(), OK: lat.Len(), Errors: int(errs.Load()), Wall: time.Since(start)}
	res.Errors += len(users) - res.OK - res.Errors
	if s, ok := first.Load().(string); ok {
		res.FirstError = s
	}
	if res.Wall > 0 {
		res.PerSecond = float64(res.OK) / res.Wall.Seconds()
	}
	return res
}

// CloseAll drops every kept connection.
func CloseAll(terms []*Term) {
	for _, t := range terms {
		if t != nil {
			t.Close()
		}
	}
}

// Typist produces the keys a load types: lines of lowercase letters ended
// by the target's newline key. Text is what the keys should leave in a
// Notes document.
type Typist struct {
	LineLen int
	Newline []byte
	n       int
	col     int
	text    strings.Builder
}

// Next returns the next key, the byte its echo shows (0: any output) and
// the text it adds.
func (ty *Typist) Next() (key []byte, want byte) {
	if ty.LineLen > 0 && ty.col == ty.LineLen && len(ty.Newline) > 0 {
		ty.col = 0
		ty.text.WriteByte('\n')
		return ty.Newline, 0
	}
	c := byte('a' + ty.n%26)
	ty.n++
	ty.col++
	ty.text.WriteByte(c)
	return []byte{c}, c
}

// Text is what was typed so far, newlines as "\n".
func (ty *Typist) Text() string { return ty.text.String() }

// EchoResult describes typed keys and their echoes.
type EchoResult struct {
	Latency Summary `json:"latency"` // letters only: send → echo arrived
	Keys    int     `json:"keys"`    // all keys echoed, newlines included
	Errors  int     `json:"errors"`
	// BytesMedian is the median size of one letter's echo frame: the
	// steady-state cost of a typed character.
	BytesMedian int `json:"bytes_median"`
	// BytesMean is all bytes received while typing divided by all keys:
	// tab-title and line changes included.
	BytesMean  float64 `json:"bytes_mean"`
	FirstError string  `json:"first_error,omitempty"`
}

// Echo types keys on one session, one at a time, waiting gap between an
// echo and the next key.
func Echo(ctx context.Context, term *Term, ty *Typist, keys int, gap time.Duration) EchoResult {
	var lat []time.Duration
	var sizes []int
	res := EchoResult{}
	term.Drain()
	before := term.Received()
	for i := 0; i < keys && ctx.Err() == nil; i++ {
		key, want := ty.Next()
		k, err := term.Key(key, want, time.Now().Add(5*time.Second))
		if err != nil {
			res.Errors++
			res.FirstError = err.Error()
			break
		}
		res.Keys++
		if want != 0 {
			lat = append(lat, k.Latency)
			sizes = append(sizes, k.Bytes)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	time.Sleep(20 * time.Millisecond) // let a straggling chunk be counted
	res.Latency = Summarize(lat)
	res.BytesMedian = MedianInt(sizes)
	res.BytesMean = PerItem(term.Received()-before, res.Keys)
	return res
}

// TypedKey is one key a crash-test typist sent.
type TypedKey struct {
	Sent time.Time
	Echo bool // its echo arrived
}

// TypeAt types on term at rate keys per second until stop is closed or
// the connection fails, one key in flight at a time (a key whose echo has
// not arrived by the next tick delays that tick). Latencies of letters go
// to lat; every key sent is appended to log when log is not nil.
func TypeAt(term *Term, ty *Typist, rate float64, maxKeys int, stop <-chan struct{}, lat *Samples, log *[]TypedKey) error {
	interval := time.Duration(float64(time.Second) / rate)
	// A random phase spreads many typists over the interval.
	select {
	case <-time.After(rand.N(interval)):
	case <-stop:
		return nil
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for sent := 0; sent < maxKeys; sent++ {
		key, want := ty.Next()
		k, err := term.Key(key, want, time.Now().Add(5*time.Second))
		if log != nil && !k.Sent.IsZero() {
			*log = append(*log, TypedKey{Sent: k.Sent, Echo: err == nil})
		}
		if err != nil {
			return err
		}
		if want != 0 && lat != nil {
			lat.Add(k.Latency)
		}
		select {
		case <-tick.C:
		case <-stop:
			return nil
		}
	}
	return nil
}

// LoadResult describes typing on some of many attached sessions.
type LoadResult struct {
	Attached int        `json:"attached"`
	Typing   int        `json:"typing"`
	Rate     float64    `json:"keys_per_s_each"`
	Duration string     `json:"duration"`
	Echo     EchoResult `json:"echo"`
	// ServerCores is the server's average CPU use during the typing.
	ServerCores float64 `json:"server_cores,omitempty"`
}

// TypeLoad makes the first typing terms type at rate for dur and
// summarises every letter's echo latency.
func TypeLoad(terms []*Term, typing int, rate float64, dur time.Duration, newline []byte) LoadResult {
	live := liveTerms(terms)
	typing = min(typing, len(live))
	res := LoadResult{Attached: len(live), Typing: typing, Rate: rate, Duration: dur.String()}
	var lat Samples
	var errs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, term := range live[:typing] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ty := &Typist{LineLen: 40, Newline: newline}
			maxKeys := int(rate*dur.Seconds()) + 2
			if err := TypeAt(term, ty, rate, maxKeys, stop, &lat, nil); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	time.Sleep(dur)
	close(stop)
	wg.Wait()
	res.Echo.Latency = lat.Summary()
	res.Echo.Keys = res.Echo.Latency.N
	res.Echo.Errors = int(errs.Load())
	if s, ok := firstErr.Load().(string); ok {
		res.Echo.FirstError = s
	}
	return res
}

func liveTerms(terms []*Term) []*Term {
	out := make([]*Term, 0, len(terms))
	for _, t := range terms {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// Users names count load users: prefix, phase tag, index. Names fit
// termhost's rule (lowercase, ≤ 32 characters, starting with a letter).
func Users(prefix, phase string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%s%s%05d", prefix, phase, i)
	}
	return out
}

// RunPrefix is a random user-name prefix, so runs against one server do
// not collide.
func RunPrefix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := []byte{'l', 0, 0, 0, 0}
	for i := 1; i < len(b); i++ {
		b[i] = letters[rand.N(len(letters))]
	}
	return string(b)
}
