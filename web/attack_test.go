package web_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"termhost/persist"
	"termhost/web"
)

// 1000 WebSockets from one address and one login onto one session, opened
// 50 at a time by clients that never read and never close: each takes the
// session over from the one before, but a socket taken over lingers until
// its close handshake times out (5 s), so without a cap they piled up
// (measured: all 1000 open, +2,847 goroutines). Now at most
// MaxSocketsPerUser are open, the rest get 429 with Retry-After, and
// another user at another address still gets a terminal (issue 11 attack).
func TestAttackThousandSockets(t *testing.T) {
	const perUser = 16
	e := newEnvWith(t, func(c *web.Config) { c.MaxSocketsPerUser = perUser })
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	warm := b.dial("/s/new/ws", 80, 24)
	warm.waitFor("alice")
	var hello struct{ ID string }
	if err := json.Unmarshal([]byte(<-warm.hello), &hello); err != nil || hello.ID == "" {
		t.Fatalf("hello: %v", err)
	}
	warm.ws.Close(websocket.StatusNormalClosure, "")
	warm.scr.Close()
	waitUntil(t, "the warm-up client gone", func() bool { return len(webClients(t, e, "alice")) == 0 })
	base := runtime.NumGoroutine()

	start := time.Now()
	const n, parallel = 1000, 50
	var mu sync.Mutex
	var open []*websocket.Conn
	statuses := map[int]int{}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, resp, err := b.dialRaw("/s/"+hello.ID+"/ws", e.ts.URL)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				open = append(open, ws)
			case resp != nil:
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
			default:
				statuses[-1]++
			}
		})
	}
	wg.Wait()
	grown := runtime.NumGoroutine() - base
	t.Logf("%d sockets opened, refused %v, in %v; goroutines +%d", len(open), statuses, time.Since(start), grown)
	defer func() {
		for _, c := range open {
			c.CloseNow()
		}
	}()
	if statuses[http.StatusTooManyRequests] == 0 || statuses[-1] > 0 {
		t.Errorf("refusals %v: want 429s and no broken connections", statuses)
	}
	// Taken-over sockets close after 5 s, so a few more than the cap may
	// have opened over the run; never the thousand.
	if len(open) > 4*perUser || grown > 4*perUser*4 {
		t.Errorf("%d sockets open and +%d goroutines, want about %d sockets", len(open), grown, perUser)
	}

	tests := []struct {
		name, user, pw, from string
	}{
		{name: "another user at another address", user: "bob", pw: "pw-bob", from: "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := e.browserFrom(tt.from)
			other.mustSignIn(tt.user, tt.pw)
			other.dial("/s/new/ws", 80, 24).waitFor(tt.user)
		})
	}
}
