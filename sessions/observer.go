package sessions

import "time"

// Observer is told what the node's metrics measure inside the session
// layer (SPEC §11). Its methods run on hot paths: they must be cheap and
// safe for concurrent use. Config.Metrics nil means no observer.
type Observer interface {
	// FrameFlushed reports a frame written to a client's transport. first:
	// d is the time since the client reached the session layer (after
	// login); otherwise d is the time since the input that caused the
	// frame was read (key→echo inside the server).
	FrameFlushed(d time.Duration, first bool)
	// LeaseRenewed reports one batched renewal of the node's leases.
	LeaseRenewed(ok bool)
	// LeaseLost reports a live session stopped because its lease moved.
	LeaseLost()
	// HandedOff reports a session handed to another node.
	HandedOff()
}

type noObserver struct{}

func (noObserver) FrameFlushed(time.Duration, bool) {}
func (noObserver) LeaseRenewed(bool)                {}
func (noObserver) LeaseLost()                       {}
func (noObserver) HandedOff()                       {}

// latency follows one client's frames from cause to write. Guarded by the
// client's outbox mu.
type latency struct {
	obs    Observer
	first  time.Time // when the client arrived; zero once its first frame was written
	framed bool      // a frame (not only a farewell) is queued
	input  time.Time // an input being applied whose frame is not queued yet
	queued time.Time // the input whose frame is queued and not yet written
}

// flushMark is what one write of the outbox reports once it succeeded.
type flushMark struct {
	obs   Observer
	since time.Time
	first bool
}

// watch starts measuring c's frames for obs, counting from arrived.
func (o *outbox) watch(obs Observer, arrived time.Time) {
	o.mu.Lock()
	o.lat = latency{obs: obs, first: arrived}
	o.mu.Unlock()
}

// inputRead marks that input read at t is being applied; the next frame
// queued for this client is its echo, and the pump writes it itself.
// inputDone (after the input was applied) writes what was queued meanwhile
// and drops the mark if the input drew nothing. Only the pump calls them.
func (o *outbox) inputRead(t time.Time) {
	o.mu.Lock()
	o.lat.input = t
	o.holding = true
	o.mu.Unlock()
}

func (o *outbox) inputDone() {
	o.mu.Lock()
	o.lat.input = time.Time{}
	o.holding = false
	o.mu.Unlock()
	o.write(true)
}

// queued notes that a frame was queued. Caller holds o.mu.
func (l *latency) queuedFrame() {
	l.framed = true
	if !l.input.IsZero() && l.queued.IsZero() {
		l.queued = l.input
	}
	l.input = time.Time{}
}

// take returns what the write about to happen should report, and forgets
// it. Caller holds o.mu.
func (l *latency) take() flushMark {
	switch {
	case l.obs == nil || !l.framed:
		return flushMark{}
	case !l.first.IsZero():
		m := flushMark{obs: l.obs, since: l.first, first: true}
		l.first, l.queued = time.Time{}, time.Time{}
		return m
	case !l.queued.IsZero():
		m := flushMark{obs: l.obs, since: l.queued}
		l.queued = time.Time{}
		return m
	}
	return flushMark{}
}

// report tells the observer, after a successful write.
func (m flushMark) report() {
	if m.obs != nil {
		m.obs.FrameFlushed(time.Since(m.since), m.first)
	}
}
