package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrSignupLimit is returned by Signup when the source has created as many
// accounts as SignupLimit allows for now.
var ErrSignupLimit = errors.New("too many new accounts from this address; try again later")

// DefaultSignupRate is signup_rate's default: accounts one source may
// create per hour (issue 8: signup was bounded only by conn_rate, so one
// address could create thousands of accounts, each with its sessions).
const DefaultSignupRate = 10

// SignupLimit bounds the accounts one source (SourceOf) may create by
// signup: a token bucket per source refilled at PerHour an hour and
// holding at most PerHour, so a fresh source may sign up PerHour at once.
// A nil *SignupLimit, or PerHour ≤ 0, bounds nothing.
type SignupLimit struct {
	PerHour float64
	Now     func() time.Time // nil: time.Now

	mu      sync.Mutex // guards sources; a leaf lock
	sources map[string]signupBucket
}

type signupBucket struct {
	tokens float64
	at     time.Time
}

// maxSignupSources bounds the table: past it, sources whose bucket has
// refilled are forgotten (they start full anyway), and if none has, the
// table starts again empty.
var maxSignupSources = 65536

// NewSignupLimit returns a limit of perHour signups per source an hour.
func NewSignupLimit(perHour float64, now func() time.Time) *SignupLimit {
	return &SignupLimit{PerHour: perHour, Now: now}
}

// Take charges one signup to src, or returns an error wrapping
// ErrSignupLimit (with the wait) when src has none left. A signup that
// fails later keeps its charge: each costs a hash and a store write.
func (l *SignupLimit) Take(src string) error {
	if l == nil || l.PerHour <= 0 {
		return nil
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sources == nil {
		l.sources = map[string]signupBucket{}
	}
	b, ok := l.sources[src]
	if !ok {
		b = signupBucket{tokens: l.PerHour, at: now}
	}
	b.tokens = min(l.PerHour, b.tokens+max(now.Sub(b.at), 0).Hours()*l.PerHour)
	b.at = now
	if b.tokens < 1 {
		l.sources[src] = b
		wait := time.Duration((1 - b.tokens) / l.PerHour * float64(time.Hour)).Round(time.Minute)
		return fmt.Errorf("%w (at most %g an hour; next in about %s)", ErrSignupLimit, l.PerHour, max(wait, time.Minute))
	}
	b.tokens--
	if _, ok := l.sources[src]; !ok && len(l.sources) >= maxSignupSources {
		l.forget(now)
	}
	l.sources[src] = b
	return nil
}

// forget drops refilled buckets, or all when none has. Caller holds mu.
func (l *SignupLimit) forget(now time.Time) {
	for s, b := range l.sources {
		if b.tokens+max(now.Sub(b.at), 0).Hours()*l.PerHour >= l.PerHour {
			delete(l.sources, s)
		}
	}
	if len(l.sources) >= maxSignupSources {
		clear(l.sources)
	}
}
