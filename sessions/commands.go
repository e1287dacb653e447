package sessions

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// maxCommands bounds the commands (tui.Env.Run) one session runs at once;
// more wait in order. Each app keeps at most one or two in flight, so this
// bites only a user with many tabs against a slow store, and it bounds the
// goroutines and store calls one session can hold.
const maxCommands = 8

// commands runs a session's app commands off its lock and delivers their
// results under it (deliver). Until the session is ready (ready), commands
// wait: New and Restore issue loads before the Session exists.
type commands struct {
	mu      sync.Mutex // guards the fields below; a leaf lock
	queue   []tea.Cmd
	running int
	started bool
	idle    chan struct{} // closed when nothing runs or waits; nil when nobody waits
}

// run queues cmd (tui.Env.Run). It never blocks, so apps call it under mu.
func (s *Session) run(cmd tea.Cmd) {
	q := &s.cmds
	q.mu.Lock()
	q.queue = append(q.queue, cmd)
	q.mu.Unlock()
	s.startCommands()
}

// ready lets queued commands start: the session can take their results.
func (s *Session) ready() {
	s.cmds.mu.Lock()
	s.cmds.started = true
	s.cmds.mu.Unlock()
	s.startCommands()
}

func (s *Session) startCommands() {
	q := &s.cmds
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.started && q.running < maxCommands && len(q.queue) > 0 {
		cmd := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.running++
		go s.runCommand(cmd)
	}
}

// runCommand runs one command on its own goroutine; a panic in it is
// contained like one under the lock.
func (s *Session) runCommand(cmd tea.Cmd) {
	var msg tea.Msg
	if s.contain("command", func() { msg = cmd() }) && msg != nil {
		s.deliver(msg)
	}
	q := &s.cmds
	q.mu.Lock()
	q.running--
	if q.running == 0 && len(q.queue) == 0 && q.idle != nil {
		close(q.idle)
		q.idle = nil
	}
	q.mu.Unlock()
	s.startCommands()
}

// waitCommands waits until no command runs or waits, or ctx ends: a
// session about to be written for the last time takes in-flight results
// (a save's new version) first. Never call it from a command of s.
func (s *Session) waitCommands(ctx context.Context) {
	q := &s.cmds
	for {
		q.mu.Lock()
		if !q.started || q.running == 0 && len(q.queue) == 0 {
			q.mu.Unlock()
			return
		}
		if q.idle == nil {
			q.idle = make(chan struct{})
		}
		idle := q.idle
		q.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return
		}
	}
}

// deliver applies a non-key message (chat, a command's result) and redraws.
func (s *Session) deliver(msg tea.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	if !s.contain("deliver", func() { s.ws.Update(msg) }) {
		s.ws.Notice = "internal error: a result was dropped (logged)"
	}
	// A SessionsChanged notice changes no state by itself (a visible table
	// asks again, and that answer is what marks the workspace dirty): every
	// live session of the node gets one per session event, and building a
	// snapshot for each would cost O(live sessions) per event.
	if _, notice := msg.(tui.SessionsChanged); !notice {
		s.markDirtyLocked()
	}
	s.renderLocked()
}

// contain runs f and turns a panic into a log line with the stack (and the
// session id): the caller's deferred unlocks run and the session keeps
// serving (issue 8). Apps' panics are already contained by the workspace
// (the tab is stopped); this catches the rest: workspace, rendering and
// command code. It reports whether f returned normally.
func (s *Session) contain(where string, f func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.m.log.Error("panic contained; the session goes on", "session", s.rec.ID, "in", where,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	f()
	return true
}
