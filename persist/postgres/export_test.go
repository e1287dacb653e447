package postgres

import (
	"io/fs"
	"time"
)

// SetListenTimings shortens the listener's idle ping for a test and
// returns a function that restores the defaults.
func SetListenTimings(idle, probe time.Duration) (restore func()) {
	oldIdle, oldProbe := listenIdle, listenProbe
	listenIdle, listenProbe = idle, probe
	return func() { listenIdle, listenProbe = oldIdle, oldProbe }
}

// SetMigrations makes Open read migrations/*.sql from fsys until restore.
func SetMigrations(fsys fs.ReadFileFS) (restore func()) {
	old := migrations
	migrations = fsys
	return func() { migrations = old }
}
