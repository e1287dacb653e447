package admission

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestAcceptBackoff(t *testing.T) {
	var b AcceptBackoff
	if b.Wait(fmt.Errorf("accept: %w", net.ErrClosed), nil, "x") {
		t.Fatal("a closed listener must end the loop")
	}
	emfile := &net.OpError{Op: "accept", Err: syscall.EMFILE}
	start := time.Now()
	for range 3 {
		if !b.Wait(emfile, nil, "x") {
			t.Fatal("EMFILE must be retried, not end the loop")
		}
	}
	if d := time.Since(start); d < 35*time.Millisecond { // 5 + 10 + 20 ms
		t.Errorf("three retries took %s; want the doubling pause", d)
	}
	if b.delay != 20*time.Millisecond {
		t.Errorf("delay %s after three errors, want 20ms", b.delay)
	}
	b.Reset()
	if b.delay != 0 || !errors.Is(emfile, syscall.EMFILE) {
		t.Errorf("Reset left %s", b.delay)
	}
}
