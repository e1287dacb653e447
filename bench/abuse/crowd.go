package abuse

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Crowd attacks (issue 8, attack trial): many accounts acting together,
// each within its own limits. Both measure what a bystander with a
// session of its own meets meanwhile.

// ChatKey opens a Chat tab from the new-tab chooser (ctrl+b c, then Chat's
// number in termhost's chooser).
const ChatKey = "\x02c3"

// CrowdOptions are the crowd's accounts and pace.
type CrowdOptions struct {
	Source    string    // the crowd's address
	Crowd     []Account // one connection each (key accounts)
	Bystander Account   // a key account of its own (the probes log in as Target.Legit)
	Dur       time.Duration
	// Chat flood: each member posts Rate lines a second.
	Rate float64
	// Typing flood: each member sends Bytes of text into Notes as fast as
	// the server reads, in 4 KiB writes; Bracketed wraps it as one paste.
	Bytes     int
	Bracketed bool
}

// CrowdResult is the bystander's view: the delay of each of its lines
// (chat: post → its line shown; typing: key → echo) and the ones that did
// not come within 2 s (chat: 5 s).
type CrowdResult struct {
	Outcome
	Delays []time.Duration
	Missed int
	Sent   int64 // the crowd's lines posted or bytes written
}

// Max is the slowest delay (0 with none).
func (r CrowdResult) Max() time.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	return slices.Max(r.Delays)
}

// Median is the middle delay (0 with none).
func (r CrowdResult) Median() time.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	d := slices.Clone(r.Delays)
	slices.Sort(d)
	return d[len(d)/2]
}

// openCrowd logs every member in from o.Source with a fresh session and
// sends setup (e.g. ChatKey) to each, waiting for marker.
func openCrowd(ctx context.Context, t Target, o CrowdOptions, setup, marker string) ([]*Term, error) {
	d := SSH{Addr: t.SSH, Source: o.Source}
	terms := make([]*Term, 0, len(o.Crowd))
	for _, a := range o.Crowd {
		term, err := d.Open(ctx, a.Name, a.Signer, TermOptions{Marker: FrameMarker})
		if err != nil {
			closeAll(terms)
			return nil, err
		}
		terms = append(terms, term)
		if setup == "" {
			continue
		}
		e := term.Expect(marker)
		if err := term.Send([]byte(setup)); err != nil {
			closeAll(terms)
			return nil, err
		}
		if _, err := term.Wait(e, time.Now().Add(10*time.Second)); err != nil {
			closeAll(terms)
			return nil, fmt.Errorf("%s setting up: %w", a.Name, err)
		}
	}
	return terms, nil
}

func closeAll(terms []*Term) {
	for _, t := range terms {
		t.Close()
	}
}

// token is the n-th marker word: five capitals, each position changing
// with every n, so a frame that redraws the row shows all of it.
func token(n int) string {
	b := make([]byte, 5)
	for j := range b {
		b[j] = 'A' + byte((n/(1+j*3)+n*(j+1))%26)
	}
	return "Z" + string(b)
}

// ChatFlood has every crowd member post o.Rate lines a second into #lobby
// for o.Dur; meanwhile the bystander posts one line a second (a quiet
// user) and times each until its own session shows it.
func ChatFlood(ctx context.Context, t Target, o CrowdOptions) (CrowdResult, error) {
	var res CrowdResult
	crowd, err := openCrowd(ctx, t, o, ChatKey, "#lobby")
	if err != nil {
		return res, err
	}
	defer closeAll(crowd)
	by, err := openCrowd(ctx, t, CrowdOptions{Source: LegitSource, Crowd: []Account{o.Bystander}}, ChatKey, "#lobby")
	if err != nil {
		return res, err
	}
	defer closeAll(by)
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, o.Dur)
		defer cancel()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, term := range crowd {
			wg.Go(func() {
				every := time.Duration(float64(time.Second) / o.Rate)
				for n := 0; ctx.Err() == nil; n++ {
					if term.Send(fmt.Appendf(nil, "flood %d from %d\r", n, i)) != nil {
						return
					}
					mu.Lock()
					res.Sent++
					mu.Unlock()
					pause(ctx, every)
				}
			})
		}
		b := by[0]
		for n := 0; ctx.Err() == nil; n++ {
			word := token(n)
			e := b.Expect(word)
			sent := time.Now()
			// The word and Enter in one write: the draft is never drawn,
			// so only the posted line can show the word.
			if err := b.Send([]byte(word + "\r")); err != nil {
				return err
			}
			if at, err := b.Wait(e, sent.Add(5*time.Second)); err != nil {
				res.Missed++
			} else {
				res.Delays = append(res.Delays, at.Sub(sent))
			}
			pause(ctx, time.Second-time.Since(sent))
		}
		wg.Wait()
		return nil
	})
	res.Outcome = out
	return res, err
}

// TypingFlood has every crowd member send o.Bytes of text into the Notes
// tab of its own session as fast as the server takes it, for at most
// o.Dur; meanwhile the bystander types a word every 50 ms into its own
// Notes and times each echo.
func TypingFlood(ctx context.Context, t Target, o CrowdOptions) (CrowdResult, error) {
	var res CrowdResult
	crowd, err := openCrowd(ctx, t, o, "", "")
	if err != nil {
		return res, err
	}
	defer closeAll(crowd)
	by, err := openCrowd(ctx, t, CrowdOptions{Source: LegitSource, Crowd: []Account{o.Bystander}}, "", "")
	if err != nil {
		return res, err
	}
	defer closeAll(by)
	text := pasteText(o.Bytes, 64)
	if o.Bracketed {
		text = append(append([]byte("\x1b[200~"), text...), "\x1b[201~"...)
	}
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, o.Dur)
		defer cancel()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, term := range crowd {
			stop := context.AfterFunc(ctx, func() { term.Close() }) // unblocks a held write
			wg.Go(func() {
				defer stop()
				for p := text; len(p) > 0 && ctx.Err() == nil; {
					n := min(len(p), 4096)
					if term.Send(p[:n]) != nil {
						return
					}
					mu.Lock()
					res.Sent += int64(n)
					mu.Unlock()
					p = p[n:]
				}
			})
		}
		b := by[0]
		for i := 0; ctx.Err() == nil; i++ {
			word := fmt.Sprintf("Q%04d", i)
			e := b.Expect(word)
			sent := time.Now()
			if err := b.Send([]byte(word)); err != nil {
				return err
			}
			if at, err := b.Wait(e, sent.Add(2*time.Second)); err != nil {
				res.Missed++
			} else {
				res.Delays = append(res.Delays, at.Sub(sent))
			}
			pause(ctx, 50*time.Millisecond)
		}
		wg.Wait()
		return nil
	})
	res.Outcome = out
	return res, err
}
