package admin

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// idleConn bounds each pause, not the exchange: an answer read slowly (a
// pager, a slow pipe) is not cut as long as data keeps coming (attack
// trial: a 100,000-session listing piped into a slow reader was cut at
// one minute); a pause longer than idle still ends it.
func TestIdleConnBoundsPausesNotTotal(t *testing.T) {
	const idle = 500 * time.Millisecond
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		for range 8 { // 8 × 100 ms: more than idle in all
			if _, err := b.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(idle / 5)
		}
		time.Sleep(3 * idle) // then a pause past it
		b.Write([]byte("late"))
	}()
	c := idleConn{Conn: a, idle: idle}
	buf := make([]byte, 1)
	for i := range 8 {
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("read %d, after %v of a slow but steady answer: %v", i, time.Duration(i)*idle/5, err)
		}
	}
	if _, err := io.ReadFull(c, buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after a pause past idle: %v, want a deadline error", err)
	}
}
