package abuse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// WindowOptions is clients asking for a huge terminal.
type WindowOptions struct {
	Source        string
	Clients       int // each logs in as its own Target.Attackers account
	Width, Height int // the pty-req size, e.g. 65535×65535
	Hold          time.Duration
	// Timeout bounds each client's login and first output; 0 means 10 s.
	Timeout time.Duration
}

// WindowResult is how the server coped.
type WindowResult struct {
	Outcome
	Served int      // clients that got output
	Errors []string // clients that did not
	Bytes  int64    // output received by all clients
}

// HugeWindow logs the clients in at once, reads everything they are sent
// for Hold (the bystanders log in meanwhile), then leaves.
func HugeWindow(ctx context.Context, t Target, o WindowOptions) (WindowResult, error) {
	if o.Clients > len(t.Attackers) {
		return WindowResult{}, fmt.Errorf("%d huge-window clients but %d attacker accounts", o.Clients, len(t.Attackers))
	}
	var res WindowResult
	var mu sync.Mutex
	var terms []*Term
	login := func(ctx context.Context) error {
		var wg sync.WaitGroup
		for _, a := range t.Attackers[:o.Clients] {
			wg.Go(func() {
				term, err := SSH{Addr: t.SSH, Source: o.Source, Timeout: o.Timeout}.Open(ctx, a.Name, a.Signer, TermOptions{Width: o.Width, Height: o.Height})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.Errors = append(res.Errors, err.Error())
					return
				}
				terms = append(terms, term)
			})
		}
		wg.Wait()
		return nil
	}
	out, err := t.observe(ctx, false, login, func(ctx context.Context) error {
		pause(ctx, o.Hold)
		return nil
	})
	for _, term := range terms {
		res.Bytes += term.Received()
		term.Close()
	}
	res.Served, res.Outcome = len(terms), out
	return res, err
}

// CommandOptions is one SSH exec request with a long command line.
type CommandOptions struct {
	Source  string
	Size    int           // bytes of the command: one word of 'a's
	Timeout time.Duration // the attack gives up after this
}

// CommandResult is how the server answered the command.
type CommandResult struct {
	Outcome
	Took   time.Duration // request sent → the session closed (Timeout if it never did)
	Exit   int           // exit status (-1 if none)
	Output string        // the first 200 bytes of what the server said
	Err    string
}

// LongCommand sends the command as Target.Attackers[0] without a pty.
func LongCommand(ctx context.Context, t Target, o CommandOptions) (CommandResult, error) {
	res := CommandResult{Exit: -1}
	a := t.Attackers[0]
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		client, _, err := SSH{Addr: t.SSH, Source: o.Source}.handshake(ctx, a.Name, gossh.PublicKeys(a.Signer))
		if err != nil {
			return err
		}
		defer client.Close()
		sess, err := client.NewSession()
		if err != nil {
			return err
		}
		start := time.Now()
		type result struct {
			out []byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			b, err := sess.CombinedOutput(strings.Repeat("a", o.Size))
			done <- result{b, err}
		}()
		select {
		case r := <-done:
			res.Took = time.Since(start)
			res.Output = string(r.out[:min(len(r.out), 200)])
			var exit *gossh.ExitError
			switch {
			case r.err == nil:
				res.Exit = 0
			case errors.As(r.err, &exit):
				res.Exit = exit.ExitStatus()
			default:
				res.Err = r.err.Error()
			}
		case <-time.After(o.Timeout):
			res.Took, res.Err = o.Timeout, "no answer within the timeout"
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
	res.Outcome = out
	return res, err
}

// PasteOptions is one big paste into the Notes tab a new session opens.
type PasteOptions struct {
	Source string
	Size   int // bytes pasted
	// Line is the length of each pasted line, its CR included; 0 pastes
	// one line of Size bytes (a base64 blob, minified JSON: the hard case
	// for an editor that copies the line on every insert).
	Line    int
	Timeout time.Duration // the attack gives up after this
}

// PasteResult is how long the session took to take the paste.
type PasteResult struct {
	Outcome
	// Took runs from the first pasted byte to the help overlay that a
	// ctrl+b ? sent right after the paste brought up: the paste has been
	// taken and the session answers keys again.
	Took time.Duration
	Done bool // the overlay came within Timeout
	Err  string
}

// pasteText is size bytes of prose (no 'Q', no digits) in lines of line
// bytes ending in CR, or one line when line is 0.
func pasteText(size, line int) []byte {
	const words = "the quick brown fox jumps over the lazy dog and keeps on running "
	out := make([]byte, 0, size)
	for col := 0; len(out) < size; col++ {
		if line > 0 && col%line == line-1 {
			out = append(out, '\r')
			continue
		}
		out = append(out, words[col%len(words)])
	}
	return out
}

// Paste logs in as Target.Attackers[0], pastes (bracketed, as a terminal
// does; a server that ignores the brackets sees typed keys), asks for help
// and waits for it.
func Paste(ctx context.Context, t Target, o PasteOptions) (PasteResult, error) {
	var res PasteResult
	a := t.Attackers[0]
	term, err := SSH{Addr: t.SSH, Source: o.Source}.Open(ctx, a.Name, a.Signer, TermOptions{Marker: FrameMarker})
	if err != nil {
		return res, err
	}
	defer term.Close()
	payload := append([]byte("\x1b[200~"), pasteText(o.Size, o.Line)...)
	payload = append(payload, "\x1b[201~"...)
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		help := term.Expect("any key: close")
		start := time.Now()
		sent := make(chan error, 1)
		go func() {
			if err := term.Send(payload); err != nil {
				sent <- err
				return
			}
			sent <- term.Send([]byte{0x02, '?'})
		}()
		at, err := term.Wait(help, start.Add(o.Timeout))
		if err != nil {
			res.Took, res.Err = time.Since(start), err.Error()
			return nil
		}
		res.Took, res.Done = at.Sub(start), true
		return <-sent
	})
	res.Outcome = out
	return res, err
}

// StallOptions is a client that stops reading while its session keeps
// drawing.
type StallOptions struct {
	Source        string
	Width, Height int           // both clients' size
	Dur           time.Duration // how long the stalled client forces repaints
}

// StallResult is what the other client of the same session saw.
type StallResult struct {
	Outcome
	Echoes  []time.Duration // the reading client's key→echo while the other stalled
	Missed  int             // keys whose echo did not come within 2 s
	Resizes int             // window changes the stalled client sent
}

// Stalled logs in as Target.Attackers[0] (the stalled client S), fills the
// screen with text, stops reading and then sends window changes as fast as
// it can, each of which repaints the screen for both clients; a second
// client W of the same session (attach --shared) types a numbered word
// every 50 ms and times its echo.
func Stalled(ctx context.Context, t Target, o StallOptions) (StallResult, error) {
	var res StallResult
	a := t.Attackers[0]
	d := SSH{Addr: t.SSH, Source: o.Source}
	size := TermOptions{Width: o.Width, Height: o.Height, Marker: FrameMarker}
	s, err := d.Open(ctx, a.Name, a.Signer, size)
	if err != nil {
		return res, err
	}
	defer s.Close()
	filled := s.Expect("endoffill")
	fill := string(pasteText((o.Width-10)*o.Height, o.Width-10)) + "endoffill"
	if err := s.Send([]byte(fill)); err != nil {
		return res, err
	}
	if _, err := s.Wait(filled, time.Now().Add(10*time.Second)); err != nil {
		return res, fmt.Errorf("filling the stalled client's screen: %w", err)
	}
	s.Stall()
	size.Command = "attach --shared"
	w, err := d.Open(ctx, a.Name, a.Signer, size)
	if err != nil {
		return res, err
	}
	defer w.Close()
	out, err := t.observe(ctx, false, nil, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, o.Dur)
		defer cancel()
		resizes := make(chan int, 1)
		go func() {
			n := 0
			for ctx.Err() == nil {
				if err := s.Resize(o.Width-n%2, o.Height); err != nil {
					break
				}
				n++
				pause(ctx, time.Millisecond)
			}
			resizes <- n
		}()
		for i := 0; ctx.Err() == nil; i++ {
			word := fmt.Sprintf("Q%04d", i)
			e := w.Expect(word)
			sent := time.Now()
			if err := w.Send([]byte(word)); err != nil {
				return err
			}
			if at, err := w.Wait(e, sent.Add(2*time.Second)); err != nil {
				res.Missed++
			} else {
				res.Echoes = append(res.Echoes, at.Sub(sent))
			}
			pause(ctx, 50*time.Millisecond)
		}
		res.Resizes = <-resizes
		return nil
	})
	res.Outcome = out
	return res, err
}
