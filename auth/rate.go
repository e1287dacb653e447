package auth

import (
	"sync"
	"time"
)

// FreeAccountFailures is how many recent failures (Accounts' window, plus
// attempts admitted and not yet answered) an account may have before checks
// on it from sources that are not known to it are admitted at the
// account's rate (issue 8 item 5: "a per-account delay across sources").
const FreeAccountFailures = 3

// accountRate admits checks on an account from unknown sources at an
// account-wide rate: once the account has FreeAccountFailures failures (in
// Accounts' window) or attempts in flight, each attempt reserves the
// account's next slot, max(now, last slot + Accounts.DelayAfter(n)), where
// n counts the failures and the attempts in flight, so the slots spread out
// 1 s, 2 s, 4 s, then 8 s apart however many sources guess. An attempt
// whose slot is further away than its bound is refused at once
// (ErrThrottled) and reserves nothing.
//
// The table holds an account while attempts on it are in flight, or while
// it has FreeAccountFailures failures and its last slot is less than
// Accounts.MaxDelay old; at maxSources accounts it first drops the others.
type accountRate struct {
	mu sync.Mutex // guards m and every slots; never held while waiting or taking the limiter's lock
	m  map[string]*slots
}

type slots struct {
	last    time.Time // the latest slot handed out
	pending int       // admitted attempts not yet answered
}

// reserve asks for a slot on user at now, given the account's failures in
// the window, its limiter (for the delay curve and MaxDelay) and the
// longest the attempt may wait. It returns the slot (now when the account
// is under FreeAccountFailures) and release, to be called once the
// attempt was answered (failures recorded) or given up (cancelled: a slot
// still the latest is handed back). ok is false when the slot would be
// further than bound: nothing was reserved.
func (r *accountRate) reserve(user string, now time.Time, failures int, l *Limiter, bound time.Duration) (slot time.Time, release func(cancelled bool), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.m[user]
	if st == nil {
		if len(r.m) >= maxSources {
			r.sweep(now, l.MaxDelay)
		}
		st = &slots{}
		r.m[user] = st
	}
	slot = now
	if n := failures + st.pending; n >= FreeAccountFailures {
		slot = st.last.Add(l.DelayAfter(n))
		if slot.Before(now) {
			slot = now
		}
		if slot.Sub(now) > bound {
			if st.pending == 0 && now.Sub(st.last) >= l.MaxDelay {
				delete(r.m, user)
			}
			return time.Time{}, nil, false
		}
	}
	prev := st.last
	if slot.After(st.last) {
		st.last = slot
	}
	st.pending++
	return slot, func(cancelled bool) {
		// Under FreeAccountFailures the last slot spaces nothing: an
		// account that logins keep succeeding on leaves no entry behind.
		quiet := l.Failures(user) < FreeAccountFailures
		now := l.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		st.pending--
		if cancelled && st.last.Equal(slot) {
			st.last = prev
		}
		if st.pending == 0 && (quiet || now.Sub(st.last) >= l.MaxDelay) && r.m[user] == st {
			delete(r.m, user)
		}
	}, true
}

// sweep drops the accounts with nothing in flight whose last slot no
// longer spaces the next one, and if the table is still full, every
// account with nothing in flight. Callers hold r.mu.
func (r *accountRate) sweep(now time.Time, maxDelay time.Duration) {
	for k, st := range r.m {
		if st.pending == 0 && now.Sub(st.last) >= maxDelay {
			delete(r.m, k)
		}
	}
	if len(r.m) < maxSources {
		return
	}
	for k, st := range r.m {
		if st.pending == 0 {
			delete(r.m, k)
		}
	}
}
