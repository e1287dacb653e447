package auth

// SetLimiterBounds sets the limiter's table bounds for a test; restore
// puts the real ones back. Not for parallel tests.
func SetLimiterBounds(keys, peerEntries int) (restore func()) {
	k, p := maxSources, maxPeerEntries
	maxSources, maxPeerEntries = keys, peerEntries
	return func() { maxSources, maxPeerEntries = k, p }
}

// RateEntries is the number of accounts the account-wide rate holds.
func (a *Authenticator) RateEntries() int {
	a.rate.mu.Lock()
	defer a.rate.mu.Unlock()
	return len(a.rate.m)
}
