package auth

import (
	"sync"
	"time"
)

// Limiter slows down failed logins per key (a source address, or an
// account name): each failure doubles the delay before the next attempt
// under that key, up to MaxDelay. Window without failures forgets the key.
//
// A failure is recorded against a key and a peer (the account a source
// failed on, or the source that failed on an account). A success forgets
// only that peer's failures under the key: a source that signs up a fresh
// account, or logs in to its own, keeps the delay it earned guessing at
// other accounts (spraying 60 accounts with a signup between guesses ran
// at 2.5 guesses/s while a success cleared the whole source).
type Limiter struct {
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Window    time.Duration
	Now       func() time.Time

	mu      sync.Mutex // guards sources and peers
	sources map[string]*failures
	peers   int // peer entries over all keys, bounded by maxSources
}

type failures struct {
	count int            // every failure under the key in the window
	last  time.Time      // the latest of them
	peers map[string]int // count by peer; overflow counts only in count
}

// maxSources bounds the table's keys, and maxPeerEntries its peer entries
// over all keys (≈ 25 MiB at most), so a flood of addresses or names cannot
// grow it forever. A full table first drops what aged out of the window
// and, if still full, starts again empty.
var (
	maxSources     = 65536
	maxPeerEntries = 1 << 18
)

// maxPeers bounds one key's peer entries; failures beyond it still count
// toward the key's delay, but no success clears them.
const maxPeers = 64

// NewLimiter returns a limiter with termhost's defaults.
func NewLimiter(now func() time.Time) *Limiter {
	return &Limiter{BaseDelay: 250 * time.Millisecond, MaxDelay: 8 * time.Second, Window: 10 * time.Minute, Now: now, sources: map[string]*failures{}}
}

// entry is key's live record, nil when it has none (or it aged out).
// Callers hold l.mu.
func (l *Limiter) entry(key string) *failures {
	f := l.sources[key]
	if f == nil {
		return nil
	}
	if f.count == 0 || l.Now().Sub(f.last) > l.Window {
		l.peers -= len(f.peers)
		delete(l.sources, key)
		return nil
	}
	return f
}

// Delay is how long to wait before the next attempt under key (0 without
// failures in the window).
func (l *Limiter) Delay(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entry(key)
	if f == nil {
		return 0
	}
	return l.DelayAfter(f.count)
}

// DelayAfter is the delay that n failures earn: BaseDelay doubled n-1
// times, at most MaxDelay; 0 for n ≤ 0.
func (l *Limiter) DelayAfter(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(l.BaseDelay<<min(n-1, 16), l.MaxDelay)
}

// Failures is the number of failures under key in the window.
func (l *Limiter) Failures(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.entry(key); f != nil {
		return f.count
	}
	return 0
}

// FailedOn reports whether peer has a failure under key in the window
// (false when the peer was beyond maxPeers).
func (l *Limiter) FailedOn(key, peer string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entry(key)
	return f != nil && f.peers[peer] > 0
}

// Fail records a failed attempt under key, by or on peer.
func (l *Limiter) Fail(key, peer string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entry(key)
	newPeer := f == nil || (f.peers[peer] == 0 && len(f.peers) < maxPeers)
	if (f == nil && len(l.sources) >= maxSources) || (newPeer && l.peers >= maxPeerEntries) {
		l.makeRoom()
		f = l.entry(key)
	}
	if f == nil {
		f = &failures{peers: map[string]int{}}
		l.sources[key] = f
	}
	f.count++
	f.last = l.Now()
	if _, ok := f.peers[peer]; ok || len(f.peers) < maxPeers {
		if !ok {
			l.peers++
		}
		f.peers[peer]++
	}
}

// makeRoom drops the keys that aged out of the window and, if the table is
// still full, empties it. Callers hold l.mu.
func (l *Limiter) makeRoom() {
	for k := range l.sources {
		l.entry(k)
	}
	if len(l.sources) >= maxSources || l.peers >= maxPeerEntries {
		l.sources, l.peers = map[string]*failures{}, 0
	}
}

// Succeed forgets peer's failures under key; other peers' failures stay.
func (l *Limiter) Succeed(key, peer string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entry(key)
	if f == nil {
		return
	}
	n, ok := f.peers[peer]
	if !ok {
		return
	}
	delete(f.peers, peer)
	l.peers--
	if f.count -= n; f.count <= 0 {
		l.peers -= len(f.peers)
		delete(l.sources, key)
	}
}
