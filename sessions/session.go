package sessions

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"termhost/persist"
	"termhost/tui"
)

// Session is a live session: its workspace and the clients viewing it.
//
// Locks, in the order they may be taken (a later one may be taken while
// holding an earlier one, never the reverse):
//
//	flushMu → recMu → mu → {cmds.mu, each client's outbox.mu, the clock's}
//
// flush holds flushMu throughout, its store writes included: it takes and
// releases mu, then record takes recMu and, only to copy the record, mu
// (Manager.drop takes flushMu then mu). Manager.mu is never held together
// with a Session lock: the manager copies m.live, unlocks, then locks
// sessions one at a time (the chat fan-out and presence do the same), and a
// Session never takes Manager.mu while holding mu; the chat hub's, the
// chat limiter's, each chat mailbox's and the node input budget's locks
// are taken alone (chatLoop never locks a session: a mailbox's drain
// goroutine does, one session at a time). Nothing does store I/O
// or waits on another session while holding mu: apps reach the store only
// through commands (Session.run), whose results come back through deliver.
// Every path that runs app, workspace or render code under mu unlocks with
// defer or runs that code inside contain (renderLocked, snapshotLocked), so
// a panic leaves no lock held.
type Session struct {
	m   *Manager
	gen uint64 // when it entered the registry (Manager.gen); guarded by Manager.mu

	// mu guards the fields below up to flushMu, the workspace and the
	// clients' render state (Client.width, height, renderer, ...).
	mu        sync.Mutex
	rec       persist.Session
	ws        *tui.Workspace
	clients   []*Client
	warned    bool
	dirty     bool
	flushing  Timer
	gone      bool // ended or hibernated: no longer accepts clients
	leaving   bool // being hibernated or handed off: accepts no new client, still takes results
	lastSaved []byte
	retry     saveRetry // failing background writes (snapshot.go)
	typed     time.Time // the last input applied: its clients keep their screens for HotScreenIdle (screen.go)

	// cmds runs the apps' commands off mu (commands.go); own lock.
	cmds commands

	// flushMu serialises snapshot writes (flush).
	flushMu sync.Mutex
	// recMu orders writes of this session's record and history: each write
	// re-reads the record under mu, so the last write is the latest state
	// even when an attach and a kill race. Order: flushMu, recMu, mu.
	recMu sync.Mutex
	// written is the record as this node last wrote it; guarded by recMu.
	written persist.Session
}

// recordInputStep is how far last_input_at may run ahead of the stored
// record before a snapshot writes the record again for it alone: listings
// on other nodes and Who show idle time in seconds.
const recordInputStep = time.Second

// record writes the session's current record and, when kind is not empty,
// appends a history event, in one ordered step.
func (s *Session) record(kind, actor, remote, detail string) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	rec := s.currentRecord()
	s.saveRecordLocked(rec)
	if kind != "" {
		s.m.event(rec.ID, kind, actor, remote, detail)
	}
}

// recordIfChanged is record for a snapshot write: the record is written
// only when what listings show changed, or last_input_at moved on by
// recordInputStep. While a user types, a snapshot is written every
// FlushDelay; its record only once a second (half the store work of a
// debounced write, BENCHMARKS "Web terminal").
func (s *Session) recordIfChanged() {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	rec := s.currentRecord()
	same := sameRecord(rec, s.written)
	if same && rec.LastInputAt.Sub(s.written.LastInputAt) < recordInputStep {
		return
	}
	s.saveRecordLocked(rec)
	if !same && s.written.ID != "" {
		// What listings show changed (a tab opened or closed: the apps
		// column): open Admin tables here and on other nodes follow.
		s.m.sessionsChanged(rec.ID)
	}
}

// saveRecordLocked writes rec and remembers it once it is stored. Caller
// holds recMu.
func (s *Session) saveRecordLocked(rec persist.Session) {
	if s.m.saveRecord(rec) == nil {
		s.written = rec
	} else {
		s.written = persist.Session{} // unknown: the next write goes through
	}
}

// sameRecord reports whether a and b are equal but for last_input_at.
func sameRecord(a, b persist.Session) bool {
	a.LastInputAt, b.LastInputAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// currentRecord is the record as it stands, with the app summary.
func (s *Session) currentRecord() persist.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.rec
	if s.ws != nil {
		rec.Apps = appsOf(s.ws)
	}
	// Listings on other nodes read the clients from the record (SPEC §6).
	rec.Attachments = nil
	for _, c := range s.clients {
		rec.Attachments = append(rec.Attachments, persist.Attachment{Transport: c.info.Transport, RemoteAddr: c.info.Remote,
			Term: c.info.Term, Width: c.width, Height: c.height, Since: c.since})
	}
	return rec
}

// snapshotLocked serialises the workspace; a panic in it (beyond the apps,
// which the workspace contains itself) is logged and returned as an error,
// so the caller's unlock runs. Caller holds mu.
func (s *Session) snapshotLocked() (data []byte, err error) {
	if !s.contain("snapshot", func() { data, err = s.ws.Snapshot() }) {
		return nil, fmt.Errorf("snapshot session %s: the workspace panicked (logged)", s.rec.ID)
	}
	return data, err
}

// markDirty schedules a snapshot write (markDirtyLocked) from outside mu.
func (s *Session) markDirty() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markDirtyLocked()
}

// ID returns the session id.
func (s *Session) ID() string { return s.rec.ID }

// viewSize is the size the workspace renders at: the smallest client.
func (s *Session) viewSize() (int, int) {
	w, h := 0, 0
	for i, c := range s.clients {
		if i == 0 || c.width < w {
			w = c.width
		}
		if i == 0 || c.height < h {
			h = c.height
		}
	}
	return w, h
}

// renderLocked draws the workspace on every client. A panic while drawing
// is contained and the clients' screens count as unknown: the next frame
// repaints them whole. Caller holds mu.
func (s *Session) renderLocked() {
	if len(s.clients) == 0 {
		return
	}
	if !s.contain("render", func() {
		w, h := s.viewSize()
		content, cur := s.ws.View(w, h)
		hot := !s.typed.IsZero() && s.m.clock.Now().Sub(s.typed) < HotScreenIdle
		for _, c := range s.clients {
			c.draw(content, cur, w, h, hot)
		}
	}) {
		for _, c := range s.clients {
			c.renderer = nil
		}
	}
}

// input applies a batch of decoded events from one client.
func (s *Session) input(c *Client, events []tea.Msg) {
	act := s.apply(c, events)
	switch act {
	case tui.ActDetach:
		s.detachClient(c, fmt.Sprintf("[detached from session %s]", s.rec.Name), s.rec.Owner, c.info.Remote, "detach")
	case tui.ActEnd:
		s.m.end(context.Background(), s, "quit", s.rec.Owner, c.info.Remote)
	}
}

// apply runs events through the workspace under mu and redraws; it says
// what the workspace asked for.
func (s *Session) apply(c *Client, events []tea.Msg) (act tui.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || !s.hasClient(c) {
		return tui.ActNone
	}
	now := s.m.clock.Now()
	s.rec.LastInputAt = now
	s.typed = now
	if s.warned {
		s.warned = false
		s.ws.IdleWarning = ""
	}
	if !s.contain("input", func() {
		for _, ev := range events {
			if act = s.ws.Update(ev); act != tui.ActNone {
				break
			}
		}
	}) {
		act = tui.ActNone
		s.ws.Notice = "internal error: keys were dropped (logged)"
	}
	s.markDirtyLocked()
	s.renderLocked()
	return act
}

func (s *Session) hasClient(c *Client) bool {
	for _, x := range s.clients {
		if x == c {
			return true
		}
	}
	return false
}

// resize records a client's new size and redraws.
func (s *Session) resize(c *Client, size Size) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasClient(c) {
		return
	}
	if notice := c.resize(size); notice != "" {
		s.ws.Notice = notice // a pty-req, NAWS or web resize alike (one place)
	}
	s.renderLocked()
}

// attach adds a client. Unless shared, existing clients are taken over:
// told why and disconnected.
func (s *Session) attach(c *Client, shared bool) error {
	evicted, err := s.join(c, shared)
	if err != nil {
		return err
	}
	detail := ""
	if shared {
		detail = "shared"
	}
	if len(evicted) > 0 {
		detail = fmt.Sprintf("took over %d client(s)", len(evicted))
	}
	s.record("attached", s.rec.Owner, c.info.Remote, c.info.Transport+" "+detail)
	return nil
}

// join adds c under mu, evicting the other clients unless shared, and draws.
func (s *Session) join(c *Client, shared bool) (evicted []*Client, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.leaving {
		return nil, errGone
	}
	if !shared {
		evicted, s.clients = s.clients, nil
	} else if len(s.clients) >= s.m.policy.MaxClients && s.m.policy.MaxClients > 0 {
		return nil, fmt.Errorf("session %s already has %d clients", s.rec.Name, len(s.clients))
	}
	reason := fmt.Sprintf("detached: session attached from %s via %s", c.info.Remote, c.info.Transport)
	for _, old := range evicted {
		old.farewell(reason)
	}
	s.clients = append(s.clients, c)
	now := s.m.clock.Now()
	s.rec.State = persist.StateAttached
	s.rec.DetachedAt = time.Time{}
	s.rec.LastInputAt = now
	s.warned, s.ws.IdleWarning = false, ""
	s.renderLocked()
	return evicted, nil
}

// detachClient removes one client, telling it reason. kind is the history
// event's detail ("detach", "idle", "admin", "disconnect").
func (s *Session) detachClient(c *Client, reason, actor, remote, kind string) {
	if s.leave(c, reason) {
		s.record("detached", actor, remote, kind)
	}
}

// leave removes c under mu and says goodbye; it reports whether c was here.
func (s *Session) leave(c *Client, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := -1
	for i, x := range s.clients {
		if x == c {
			idx = i
		}
	}
	if idx < 0 {
		return false
	}
	// slices.Delete zeroes the freed slot: a plain append would keep the
	// departed client (its renderer, ≈215 KB) reachable for the session's life.
	s.clients = slices.Delete(s.clients, idx, idx+1)
	c.farewell(reason)
	if len(s.clients) == 0 && !s.gone {
		s.rec.State = persist.StateDetached
		s.rec.DetachedAt = s.m.clock.Now()
	} else {
		s.renderLocked()
	}
	return true
}

// detachAll disconnects every client (admin detach, idle, shutdown).
func (s *Session) detachAll(reason, actor, kind string) int {
	s.mu.Lock()
	clients := append([]*Client(nil), s.clients...)
	s.mu.Unlock() // a copy: nothing between can panic
	for _, c := range clients {
		s.detachClient(c, reason, actor, c.info.Remote, kind)
	}
	return len(clients)
}

// message shows an admin message in the status bar of every client.
func (s *Session) message(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws.Notice = text
	s.renderLocked()
}

// Info is a session as listings show it.
type Info struct {
	persist.Session
	Clients []ClientView
	Live    bool
}

// ClientView is a listing of one attachment.
type ClientView struct {
	Transport string    `json:"transport"`
	Remote    string    `json:"remote_addr"`
	Term      string    `json:"term"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Since     time.Time `json:"since"`
}

func (s *Session) info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{Session: s.rec, Live: true}
	in.Apps = appsOf(s.ws)
	for _, c := range s.clients {
		in.Clients = append(in.Clients, ClientView{Transport: c.info.Transport, Remote: c.info.Remote, Term: c.info.Term, Width: c.width, Height: c.height, Since: c.since})
	}
	return in
}

func appsOf(ws *tui.Workspace) []persist.App {
	var out []persist.App
	for _, a := range ws.Summary() {
		out = append(out, persist.App{App: a.App, Documents: a.Documents})
	}
	return out
}

func logErr(log *slog.Logger, msg string, err error, args ...any) {
	if err != nil {
		log.Error(msg, append(args, "err", err)...)
	}
}
