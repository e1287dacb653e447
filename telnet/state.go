package telnet

import "maps"

// Size returns the last reported window size; 0 means unknown.
func (e *Engine) Size() (width, height int) {
	return e.width, e.height
}

// Env returns a copy of the client's NEW-ENVIRON variables (hints only,
// never for authentication), or nil if it sent none.
func (e *Engine) Env() map[string]string {
	return maps.Clone(e.env)
}

// Settled reports whether the opening negotiation is over: for each of
// NAWS, TTYPE and NEW-ENVIRON the client has refused, or has agreed and
// delivered (a size, the end of its name list, its variables). Before
// Start, and for a client that never answers, see Accept's timeout.
func (e *Engine) Settled() bool {
	return !e.waiting(optNAWS, e.nawsSeen) &&
		!e.waiting(optTType, e.tt.done) &&
		!e.waiting(optNewEnv, e.envSeen)
}

// waiting reports whether we still expect something for a client option.
func (e *Engine) waiting(opt byte, delivered bool) bool {
	switch e.opts.him[opt].state {
	case qWantYes:
		return true
	case qYes:
		return !delivered
	}
	return false
}
