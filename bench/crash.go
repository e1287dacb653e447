package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// CrashResult is the long crash test: typing sessions, kill -9, restart,
// reattach, compare.
type CrashResult struct {
	Sessions int `json:"sessions"`
	Back     int `json:"back"` // reattached after the restart with a readable Notes text
	Typed    int `json:"keys_typed"`
	Lost     int `json:"keys_lost"`
	// Corrupt counts sessions whose restored text is not a prefix of what
	// was typed (anything but a lost tail).
	Corrupt int `json:"corrupt"`
	// MaxLostAge is the oldest lost key's age at the kill: SPEC §5 allows
	// the 200 ms before it.
	MaxLostAge time.Duration `json:"max_lost_age_ns"`
	// Late counts sessions that lost a key typed more than Window before
	// the kill.
	Late       int           `json:"late"`
	Window     time.Duration `json:"window_ns"`
	KilledAt   time.Duration `json:"killed_after_ns"` // into the typing
	Restart    time.Duration `json:"restart_ns"`      // kill → ready again
	Reattach   Summary       `json:"reattach"`
	FirstError string        `json:"first_error,omitempty"`
}

// OK says whether every session came back with only the window lost.
func (r CrashResult) OK() bool {
	return r.Sessions > 0 && r.Back == r.Sessions && r.Corrupt == 0 && r.Late == 0
}

// Crash runs the long crash test against srv: n sessions type at rate for
// up to dur, the server is killed with SIGKILL at a random moment in the
// second half, restarted on the same data dir, and every session is
// reattached and its Notes text compared with what was typed.
func Crash(ctx context.Context, srv *Server, t Target, users []string, conc int, rate float64, dur time.Duration) (CrashResult, error) {
	res := CrashResult{Sessions: len(users), Window: 200 * time.Millisecond}
	terms, cr := Connect(ctx, t, users, conc, Keep)
	if cr.Errors > 0 {
		CloseAll(terms)
		return res, fmt.Errorf("crash test: %d of %d sessions did not start: %s", cr.Errors, len(users), cr.FirstError)
	}
	// Lines of 40 letters, at most 20 lines: the whole text stays on the
	// 80×22 Notes body, so the screen shows all of it after the restart.
	maxKeys := 20 * 41
	logs := make([][]TypedKey, len(terms))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, term := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ty := &Typist{LineLen: 40, Newline: t.Newline}
			_ = TypeAt(term, ty, rate, maxKeys, stop, nil, &logs[i])
		}()
	}
	start := time.Now()
	killAfter := dur/2 + rand.N(dur/2+1)
	time.Sleep(killAfter)
	killedAt := time.Now()
	srv.Kill()
	res.KilledAt = killedAt.Sub(start)
	close(stop)
	wg.Wait()
	CloseAll(terms)

	if err := srv.Restart(ctx); err != nil {
		return res, fmt.Errorf("crash test: restart: %w", err)
	}
	res.Restart = time.Since(killedAt)
	back := t
	back.Dialer.Addr = srv.Addr
	back.Dialer.Screen = true
	texts, rr := readBack(ctx, back, users, conc)
	res.Reattach = rr.Frame
	res.FirstError = rr.FirstError
	for i := range users {
		typed := typedText(t.Newline, len(logs[i]))
		res.Typed += len(logs[i])
		got, ok := texts[i], texts[i] != nil
		if !ok {
			continue
		}
		res.Back++
		if !strings.HasPrefix(typed, *got) {
			res.Corrupt++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("%s: restored %q is not a prefix of typed %q", users[i], *got, typed)
			}
			continue
		}
		lost := logs[i][len(*got):]
		res.Lost += len(lost)
		if len(lost) > 0 {
			age := killedAt.Sub(lost[0].Sent)
			res.MaxLostAge = max(res.MaxLostAge, age)
			if age > res.Window {
				res.Late++
			}
		}
	}
	return res, nil
}

// typedText is the text the first n keys of a crash typist leave.
func typedText(newline []byte, n int) string {
	ty := &Typist{LineLen: 40, Newline: newline}
	for range n {
		ty.Next()
	}
	return ty.Text()
}

// readBack reattaches every user and reads the Notes body off the screen.
func readBack(ctx context.Context, t Target, users []string, conc int) ([]*string, ConnectResult) {
	terms, res := Connect(ctx, t, users, conc, Keep)
	texts := make([]*string, len(users))
	for i, term := range terms {
		if term == nil {
			continue
		}
		s := notesText(term.Screen.String(), term.Screen.Height())
		// An empty last line (Enter was the last key kept) leaves no
		// text on screen; the cursor below the last row says it is there.
		if cur := term.Screen.CursorPosition(); cur.Y-1 == strings.Count(s, "\n")+1 {
			s += "\n"
		}
		texts[i] = &s
		term.Close()
	}
	return texts, res
}

// notesText is the Notes body of a screen: the rows between the tab bar
// and the status bar, trailing spaces and empty rows trimmed.
func notesText(screen string, height int) string {
	rows := strings.Split(screen, "\n")
	for len(rows) < height {
		rows = append(rows, "")
	}
	body := rows[1 : height-1]
	for i := range body {
		body[i] = strings.TrimRight(body[i], " ")
	}
	return strings.TrimRight(strings.Join(body, "\n"), "\n")
}
