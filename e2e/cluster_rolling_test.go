package e2e

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
)

// The rolling restart (SPEC §6 Drain, issue 10 "Done when"): 30 clients
// typing through HAProxy while every node is restarted in turn.

// typist is one of the rolling restart's clients: it types numbered words
// into its Notes tab through HAProxy and reconnects whenever its node goes.
type typist struct {
	user  string
	key   gossh.Signer
	front string

	mu       sync.Mutex
	acked    []string // words seen echoed, in order
	connects int      // logins so far
	failures []string // what went wrong, for the test to report
}

func (ty *typist) fail(format string, args ...any) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.failures = append(ty.failures, fmt.Sprintf(ty.user+": "+format, args...))
}

func (ty *typist) snapshot() (acked []string, connects int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	return slices.Clone(ty.acked), ty.connects
}

// pollScreen waits until cond holds for g's screen, g's shell ends, or d
// passes; it reports whether cond held.
func pollScreen(g *goClient, d time.Duration, cond func(string) bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond(g.scr.Text()) {
			return true
		}
		select {
		case <-g.closed:
			return cond(g.scr.Text())
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// missing is the acknowledged words the screen does not show.
func missing(screen string, words []string) []string {
	var out []string
	for _, w := range words {
		if !strings.Contains(screen, w) {
			out = append(out, w)
		}
	}
	return out
}

// maxWords keeps every typist's document within one screen (8 words a
// line, 15 lines), so that the screen shows all of it.
const maxWords = 120

// run types until stop is closed, reconnecting as needed, then makes one
// last connection that must show every acknowledged word.
func (ty *typist) run(stop <-chan struct{}, deadline time.Time) {
	for {
		select {
		case <-stop:
			ty.finalCheck(deadline)
			return
		default:
		}
		if time.Now().After(deadline) {
			ty.fail("still typing at the deadline")
			return
		}
		g, err := dialGo(ty.front, "", ty.user, ty.key, "")
		if err != nil {
			time.Sleep(100 * time.Millisecond) // a node going away; HAProxy has another
			continue
		}
		ty.session(g, stop)
		g.close()
	}
}

// session is one connection: check what came back, then type.
func (ty *typist) session(g *goClient, stop <-chan struct{}) {
	acked, _ := ty.snapshot()
	if !pollScreen(g, 10*time.Second, func(s string) bool { return strings.Contains(s, " "+ty.user+" · ") }) {
		select {
		case <-g.closed: // refused or dropped during a drain: try again
		default:
			ty.fail("no workspace after login; screen:\n%s", g.scr.Text())
		}
		return
	}
	if !pollScreen(g, 5*time.Second, func(s string) bool { return len(missing(s, acked)) == 0 }) {
		select {
		case <-g.closed:
		default:
			ty.fail("after reconnect %d the screen lacks acknowledged %v; screen:\n%s", ty.connects, missing(g.scr.Text(), acked), g.scr.Text())
		}
		return
	}
	ty.mu.Lock()
	ty.connects++
	ty.mu.Unlock()
	for n := len(acked); n < maxWords; n++ {
		select {
		case <-stop:
			return
		default:
		}
		word := fmt.Sprintf("%sw%03d", ty.user, n)
		sep := " "
		if n%8 == 7 {
			sep = "\r"
		}
		if _, err := io.WriteString(g.in, word+sep); err != nil {
			return
		}
		if !pollScreen(g, 5*time.Second, func(s string) bool { return strings.Contains(s, word) }) {
			return // not acknowledged: the node went away (or will be seen as lost on reconnect)
		}
		ty.mu.Lock()
		ty.acked = append(ty.acked, word)
		ty.mu.Unlock()
		select {
		case <-g.closed:
			return
		case <-time.After(150 * time.Millisecond):
		}
	}
	select { // enough typed: stay attached until the node goes or the test ends
	case <-g.closed:
	case <-stop:
	}
}

func (ty *typist) finalCheck(deadline time.Time) {
	acked, _ := ty.snapshot()
	for time.Now().Before(deadline) {
		g, err := dialGo(ty.front, "", ty.user, ty.key, "")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		defer g.close()
		if !pollScreen(g, 10*time.Second, func(s string) bool { return len(missing(s, acked)) == 0 }) {
			ty.fail("at the end the screen lacks acknowledged %v; screen:\n%s", missing(g.scr.Text(), acked), g.scr.Text())
		}
		return
	}
	ty.fail("no final connection before the deadline")
}

// Done-when 3: a rolling restart of all three nodes (SIGTERM, wait for the
// exit, start again on the same ports) while 30 clients type through
// HAProxy. Every session survives and nothing acknowledged is lost, where
// a word is *acknowledged* once the client saw it echoed on its screen
// (the node had applied it to the session's workspace). SPEC §6 Drain
// flushes every session before the node exits, so this is stricter than
// SPEC §5's durability promise (ctrl+s acknowledged, or 200 ms). Each
// reconnect, and one final connection after the last restart, must show
// every word its client saw echoed; each of the 30 users has exactly one
// session, not ended, at the end.
func TestClusterRollingRestart(t *testing.T) {
	c := startCluster(t, 3, 2*time.Second)
	const clients = 30
	deadline := time.Now().Add(150 * time.Second)
	stop := make(chan struct{})
	typists := make([]*typist, clients)
	var wg sync.WaitGroup
	for i := range typists {
		typists[i] = &typist{user: fmt.Sprintf("u%02d", i), key: sshtest.Signer(t), front: c.hap.front}
		wg.Add(1)
		go func() { defer wg.Done(); typists[i].run(stop, deadline) }()
	}
	stopped := false
	finish := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer finish()

	// progress waits until every typist has acknowledged more words than
	// in before (it is connected and typing).
	progress := func(what string, before []int) []int {
		t.Helper()
		end := time.Now().Add(40 * time.Second)
		for {
			now, ok := make([]int, clients), true
			for i, ty := range typists {
				acked, _ := ty.snapshot()
				now[i] = len(acked)
				if before != nil && now[i] <= before[i] && now[i] < maxWords {
					ok = false
				}
				if before == nil && now[i] == 0 {
					ok = false
				}
			}
			if ok {
				return now
			}
			if time.Now().After(end) {
				t.Fatalf("typists stalled %s: words acknowledged %v (before %v)\n%s", what, now, before, c.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	counts := progress("before the restarts", nil)
	for _, n := range c.nodes {
		start := time.Now()
		n.signal(syscall.SIGTERM)
		n.waitExit(t, 30*time.Second)
		drained := time.Since(start)
		n.restart()
		c.hap.waitUp(t, c.ids()...)
		counts = progress("after restarting node "+n.id, counts)
		t.Logf("node %s: drained and exited in %s, back and every client typing again after %s", n.id, drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	finish()

	words, reconnects := 0, 0
	for _, ty := range typists {
		for _, f := range ty.failures {
			t.Error(f)
		}
		acked, connects := ty.snapshot()
		words += len(acked)
		reconnects += connects - 1
	}
	t.Logf("%d clients: %d words acknowledged, %d reconnects", clients, words, reconnects)
	list := c.node("a").list(t)
	perUser := map[string]int{}
	for _, s := range list {
		if s.State == "ended" {
			t.Errorf("session %s of %s ended", s.ID, s.User)
		}
		perUser[s.User]++
	}
	for _, ty := range typists {
		if perUser[ty.user] != 1 {
			t.Errorf("%s has %d sessions; want its one session to survive", ty.user, perUser[ty.user])
		}
	}
}
