package admin_test

import (
	"strings"
	"testing"
)

// SPEC §4: an admin message with control characters reaches the user's
// workspace and the operator's `sessions show` escaped.
func TestMessageWithControlsIsEscaped(t *testing.T) {
	w := newWorld(t)
	if code, out, errOut := w.run("sessions", "message", w.alice, "\x1b[2J\x1b]0;x\a"); code != 0 {
		t.Fatalf("message exit %d: %s%s", code, out, errOut)
	}
	w.screen.WaitFor(t, `message from root: ^[[2J^[]0;x^G`, wait)
	code, out, _ := w.run("sessions", "show", w.alice)
	if code != 0 || !strings.Contains(out, `^[[2J^[]0;x^G`) || strings.ContainsAny(out, "\x1b\a") {
		t.Fatalf("show (exit %d) does not escape the message:\n%q", code, out)
	}
}
