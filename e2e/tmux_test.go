package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var termSeq atomic.Int64

// term is a terminal window: a private tmux server running one command.
type term struct {
	t      *testing.T
	socket string
}

// newTerm starts command in a detached tmux pane of w×h cells. The pane
// stays open after the command exits, so its last screen can be read.
func newTerm(t *testing.T, w, h int, command string) *term {
	t.Helper()
	need(t, "tmux")
	tm := &term{t: t, socket: fmt.Sprintf("th%d-%d", time.Now().UnixNano()%1e9, termSeq.Add(1))}
	shell := fmt.Sprintf("TERM=xterm-256color %s; echo '[exited]'; sleep 600", command)
	tm.tmux("new-session", "-d", "-s", "t", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), shell)
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// send types keys (tmux key names, e.g. "Enter", "C-b").
func (tm *term) send(keys ...string) { tm.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...) }

// typeText types literal text.
func (tm *term) typeText(text string) { tm.tmux("send-keys", "-t", "t", "-l", text) }

func (tm *term) screen() string { return tm.tmux("capture-pane", "-p", "-t", "t") }

// cursor returns the pane's cursor position.
func (tm *term) cursor() string {
	return strings.TrimSpace(tm.tmux("display", "-p", "-t", "t", "#{cursor_x},#{cursor_y}"))
}

// waitCursor waits until the pane's cursor is at want ("x,y"): keys sent
// through tmux reach the server asynchronously, so a position read right
// after send may predate them.
func (tm *term) waitCursor(want string) {
	tm.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	got := tm.cursor()
	for got != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		got = tm.cursor()
	}
	if got != want {
		tm.t.Fatalf("cursor at %s, want %s; screen:\n%s", got, want, tm.screen())
	}
}

func (tm *term) resize(w, h int) {
	tm.tmux("resize-window", "-t", "t", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h))
}

// waitFor waits until the screen contains want and returns the screen.
func (tm *term) waitFor(want string) string {
	tm.t.Helper()
	return tm.waitUntil("screen containing "+want, func(s string) bool { return strings.Contains(s, want) })
}

// waitGone waits until the screen no longer contains text.
func (tm *term) waitGone(text string) string {
	tm.t.Helper()
	return tm.waitUntil("screen without "+text, func(s string) bool { return !strings.Contains(s, text) })
}

func (tm *term) waitUntil(what string, ok func(string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		if s = tm.screen(); ok(s) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	tm.t.Fatalf("%s: timed out waiting for %s; screen:\n%s", time.Now(), what, s)
	return s
}
