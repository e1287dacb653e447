package sessions

import (
	"testing"
	"time"
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
					if l.allow(p.user, t0.Add(p.at)) {
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
