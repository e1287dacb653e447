package postgres

import "time"

// SetListenTimings shortens the listener's idle ping for a test and
// returns a function that restores the defaults.
func SetListenTimings(idle, probe time.Duration) (restore func()) {
	oldIdle, oldProbe := listenIdle, listenProbe
	listenIdle, listenProbe = idle, probe
	return func() { listenIdle, listenProbe = oldIdle, oldProbe }
}
