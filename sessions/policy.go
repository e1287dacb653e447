package sessions

import "time"

// Policy is the lifecycle table of SPEC §2. Zero durations switch a rule off.
type Policy struct {
	IdleTimeout    time.Duration // attached without input: warn at 75%, then detach
	HibernateAfter time.Duration // detached: serialise and drop from memory
	DetachedTTL    time.Duration // detached or hibernated: end, reason "expired"
	MaxSessionAge  time.Duration // any state: end, reason "max-age"
	// FlushDelay bounds how long a workspace change waits before it is
	// written to the store (SPEC §5: within 200 ms).
	FlushDelay time.Duration
	// MaxSessionsPerUser caps live (not ended) sessions per user.
	MaxSessionsPerUser int
	// MaxClients caps attachments per session.
	MaxClients int
	// LeaseTTL is how long a session's lease lasts unrenewed (SPEC §6
	// lease_ttl): a dead node's sessions can be taken this long after its
	// last renewal. Renewals run every LeaseTTL/3.
	LeaseTTL time.Duration
}

// DefaultPolicy returns SPEC §2's defaults.
func DefaultPolicy() Policy {
	return Policy{
		IdleTimeout:        30 * time.Minute,
		HibernateAfter:     10 * time.Minute,
		DetachedTTL:        72 * time.Hour,
		FlushDelay:         100 * time.Millisecond,
		MaxSessionsPerUser: 20,
		MaxClients:         8,
		LeaseTTL:           DefaultLeaseTTL,
	}
}

// sweepInterval is how often the policy sweeper runs: fine enough that the
// shortest rule fires within an eighth of its length, never busier than
// every 100 ms, never lazier than every 5 s.
func (p Policy) sweepInterval() time.Duration {
	d := 5 * time.Second
	for _, x := range []time.Duration{p.IdleTimeout, p.HibernateAfter, p.DetachedTTL, p.MaxSessionAge} {
		if x > 0 {
			d = min(d, x/8)
		}
	}
	return max(d, 100*time.Millisecond)
}
