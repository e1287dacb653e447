package admission

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// AcceptBackoff paces an accept loop after an error that is not its
// listener closing — out of file descriptors (EMFILE, ENFILE), a
// connection aborted before it was taken — so the loop keeps serving once
// the condition passes instead of returning and leaving the port dead (an
// attack trial exhausted descriptors and telnet, the admin socket and the
// cluster link never accepted again). It sleeps 5 ms doubling to 1 s, as
// net/http's server does, and logs at most one line a second. The zero
// value is ready; one per loop, used only by that loop's goroutine.
type AcceptBackoff struct {
	delay  time.Duration
	logged time.Time
}

// Wait handles one Accept error: it returns false when the listener is
// closed (the loop should return), else sleeps and returns true.
func (b *AcceptBackoff) Wait(err error, log *slog.Logger, listener string) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	b.delay = min(max(2*b.delay, 5*time.Millisecond), time.Second)
	if log != nil && time.Since(b.logged) >= time.Second {
		b.logged = time.Now()
		log.Warn("accept failed; retrying", "listener", listener, "retry_in", b.delay, "err", err)
	}
	time.Sleep(b.delay)
	return true
}

// Reset ends a run of errors after a successful Accept.
func (b *AcceptBackoff) Reset() { b.delay = 0 }
