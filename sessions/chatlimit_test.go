package sessions

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"termhost/tui"
)

// Issue 8 item 7: chat posts per user are a token bucket (chatRate a
// second, chatBurst at once), judged by the manager's clock.
func TestChatLimiter(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	type post struct {
		user string
		at   time.Duration // after t0
		n    int           // posts at that moment
		ok   int           // how many of them pass
	}
	tests := []struct {
		name  string
		posts []post
	}{
		{"a burst of 10 passes, the 11th is refused", []post{{"alice", 0, 11, 10}}},
		{"5 a second refill", []post{{"alice", 0, 10, 10}, {"alice", 200 * time.Millisecond, 2, 1}, {"alice", time.Second, 5, 4}}},
		{"full again after 2 s, never more", []post{{"alice", 0, 10, 10}, {"alice", time.Hour, 12, 10}}},
		{"each user has a bucket", []post{{"alice", 0, 12, 10}, {"bob", 0, 10, 10}}},
		{"a clock that steps back adds nothing", []post{{"alice", time.Second, 10, 10}, {"alice", 0, 1, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l chatLimiter
			for i, p := range tc.posts {
				ok := 0
				for range p.n {
					if l.allow(p.user, t0.Add(p.at)) == nil {
						ok++
					}
				}
				if ok != p.ok {
					t.Errorf("step %d (%s at +%v): %d of %d passed, want %d", i, p.user, p.at, ok, p.n, p.ok)
				}
			}
		})
	}
}

// Issue 8 (attack trial): 20 accounts at 5 posts a second each passed the
// per-user bucket and together flooded every session. The node's bucket
// bounds them all; a quiet user still gets a line through the reserve.
func TestChatLimiterNode(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	flood := func(l *chatLimiter, users int, d time.Duration) (passed int) {
		// every flooder tries 5 times a second for d, in 20 ms steps
		for at := time.Duration(0); at < d; at += 20 * time.Millisecond {
			for u := range users {
				if at%(200*time.Millisecond) == time.Duration(u%10)*20*time.Millisecond && l.allow(fmt.Sprintf("flood%d", u), t0.Add(at)) == nil {
					passed++
				}
			}
		}
		return passed
	}
	tests := []struct {
		name      string
		users     int
		d         time.Duration
		maxPassed int // the node's burst and reserve plus its rate over d
		bystander bool
	}{
		{"one user alone stays under the node rate", 1, 10 * time.Second, 10 + 5*10, true},
		{"20 users are held to the node rate", 20, 10 * time.Second, nodeChatBurst + chatReserve + nodeChatRate*10, true},
		{"100 users are held to the node rate", 100, 10 * time.Second, nodeChatBurst + chatReserve + nodeChatRate*10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l chatLimiter
			passed := flood(&l, tc.users, tc.d)
			if passed > tc.maxPassed {
				t.Errorf("%d flood posts passed in %s, want at most %d", passed, tc.d, tc.maxPassed)
			}
			err := l.allow("bystander", t0.Add(tc.d))
			if (err == nil) != tc.bystander {
				t.Errorf("a quiet bystander's post: %v, want allowed %v", err, tc.bystander)
			}
		})
	}
}

// The node's refusal says so, and wraps tui.ErrSlowDown.
func TestChatLimiterNodeError(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var l chatLimiter
	var last error
	for u := range 200 {
		for range 2 { // a quiet user's first posts may use the reserve; the rest may not
			last = l.allow(fmt.Sprintf("u%d", u), t0)
		}
	}
	if !errors.Is(last, tui.ErrSlowDown) || last.Error() == "" {
		t.Fatalf("the 400th post at one moment: %v, want ErrSlowDown", last)
	}
	if got := last.Error(); !strings.Contains(got, "busy") {
		t.Errorf("refusal %q does not say the chat is busy", got)
	}
}
