package auth

// SetLimiterBounds sets the limiter's table bounds for a test; restore
// puts the real ones back. Not for parallel tests.
func SetLimiterBounds(keys, peerEntries int) (restore func()) {
	k, p := maxSources, maxPeerEntries
	maxSources, maxPeerEntries = keys, peerEntries
	return func() { maxSources, maxPeerEntries = k, p }
}
