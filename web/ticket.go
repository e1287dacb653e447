package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"termhost/persist"
	"termhost/seal"
	"termhost/sessions"
)

// Workspace tickets (SPEC §10): after each snapshot of a session with web
// clients, every page on it receives the workspace sealed for purpose
// "workspace:<session id>" as a text frame
//
//	{"type":"ticket","session":ID,"gen":N,"ticket":SEALED}
//
// and keeps it in localStorage. A page that holds a ticket for the session
// it opens asks for /s/{id}/ws?ticket=1 and sends, as its first frame,
//
//	{"type":"ticket","ticket":SEALED}
//
// before anything else. A node that does not have the session (memory
// store after a restart, lost data) restores it from the ticket; a refused
// ticket gets {"type":"ticket-refused","reason":TEXT} (the page shows the
// reason and forgets the ticket) and, when the session is gone, a fresh
// workspace.
//
// Sealed payload: one line of JSON (ticketHeader), "\n", then the snapshot
// payload as tui.Restore reads it (before persist.Seal).

// Refusals of an offered ticket; Offer's errors wrap one of them, and
// their text is what the page shows.
var (
	ErrTicketInvalid = errors.New("the saved workspace in this browser could not be used: it was altered, belongs to another session, or its key was retired")
	ErrTicketExpired = errors.New("the saved workspace in this browser has expired")
	ErrTicketUser    = errors.New("the saved workspace in this browser belongs to another account")
	ErrTicketSession = errors.New("the saved workspace in this browser belongs to another session")
	ErrTicketStale   = errors.New("the saved workspace in this browser is older than the one on the server; the newer one is kept")
	ErrTicketEnded   = errors.New("this session has ended; its saved workspace is not restored")
	// ErrTicketLimit: restoring would exceed max_sessions_per_user. Offer's
	// error says the number and what to do; the page keeps its ticket.
	ErrTicketLimit = errors.New("you have the most sessions allowed")
)

// DefaultTicketTTL is a ticket's life when TicketsConfig.TTL is zero: the
// default detached_ttl, after which the session would have ended anyway.
const DefaultTicketTTL = 72 * time.Hour

// ticketVersion is the version of the sealed payload's header. Version 1
// (no account, no creation time) is refused as unreadable: it bound the
// user name only (issue 12).
const ticketVersion = 2

// ticketHeader is the first line of a ticket's payload.
type ticketHeader struct {
	V       int    `json:"v"`
	User    string `json:"user"`
	Account int64  `json:"account"` // the owner's account CreatedAt, Unix ms: a re-created account is another (as the login seal)
	Session string `json:"session"`
	Name    string `json:"name"`
	Created int64  `json:"created"` // the session's CreatedAt, Unix ms: a restore keeps it (max_session_age)
	Gen     int64  `json:"gen"`     // the store generation the snapshot was written as
}

// ticketMeta is what a ticket binds beyond the snapshot: read once when
// the first page of a session attaches.
type ticketMeta struct {
	account, created int64 // Unix ms
}

// sealRetryEvery bounds how often a session whose workspace did not fit
// in a ticket is tried again (issue 12: a failed attempt compresses the
// payload twice, ~73 ms of CPU for a large workspace).
const sealRetryEvery = 5 * time.Second

// sealFailure remembers a workspace that did not fit: payloads of at
// least size bytes are not tried again, smaller ones not before
// sealRetryEvery has passed since at.
type sealFailure struct {
	size int
	at   time.Time
}

// TicketStore is what tickets need of the store.
type TicketStore interface {
	GetUser(ctx context.Context, name string) (persist.User, error)
	GetSession(ctx context.Context, id string) (persist.Session, error)
	CreateSession(ctx context.Context, s persist.Session, maxPerOwner int) error
	Snapshots(ctx context.Context, id string) ([]persist.Snapshot, error)
	PutSnapshot(ctx context.Context, id string, f persist.Fence, data []byte) (int64, error)
	AppendEvent(ctx context.Context, e persist.Event) error
}

// TicketsConfig wires Tickets.
type TicketsConfig struct {
	Ring       *seal.Ring
	Store      TicketStore
	TTL        time.Duration // a ticket's life; 0: DefaultTicketTTL
	MaxPerUser int           // max_sessions_per_user for restored sessions; 0: no cap
	Now        func() time.Time
	Log        *slog.Logger
}

// Tickets seals snapshots for the pages of each session and restores
// sessions from the tickets pages offer. Snapshot is its
// sessions.Config.OnSnapshot; web.Config.Tickets turns the pages' side on.
type Tickets struct {
	cfg TicketsConfig

	mu    sync.Mutex                          // guards the maps; never held while sealing or writing to a socket
	pages map[string]map[*ticketSink]struct{} // session id → its open web pages
	meta  map[string]ticketMeta               // session id → account and creation time, while it has pages
	// tooLarge holds the sessions whose workspace was too large to seal
	// (logged once while they have pages; see sealFailure).
	tooLarge map[string]sealFailure

	attempts atomic.Int64 // calls to Ring.Seal from Snapshot: tests see skipped work
}

// NewTickets returns a Tickets; cfg.Ring and cfg.Store are required.
func NewTickets(cfg TicketsConfig) *Tickets {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTicketTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Tickets{cfg: cfg, pages: map[string]map[*ticketSink]struct{}{}, meta: map[string]ticketMeta{}, tooLarge: map[string]sealFailure{}}
}

// ticketSink holds the newest ticket frame for one page; only the newest
// matters, so a slow page skips generations instead of queueing them.
type ticketSink struct {
	mu    sync.Mutex
	frame []byte // guarded by mu; nil once sent
	wake  chan struct{}
}

// Snapshot seals generation sv for every page open on its session. It is
// sessions.Config.OnSnapshot: it never blocks on a page. A workspace that
// did not fit in a ticket (over seal.MaxPayload raw, or over seal.MaxSealed
// once compressed) costs no compression again while it is at least that
// size, and is retried at most every sealRetryEvery (sealFailure).
func (t *Tickets) Snapshot(sv sessions.Saved) {
	now := t.cfg.Now()
	t.mu.Lock()
	sinks := make([]*ticketSink, 0, len(t.pages[sv.SessionID]))
	for k := range t.pages[sv.SessionID] {
		sinks = append(sinks, k)
	}
	meta := t.meta[sv.SessionID]
	failed, hasFailed := t.tooLarge[sv.SessionID]
	t.mu.Unlock()
	if len(sinks) == 0 {
		return
	}
	if hasFailed && (len(sv.Data) >= failed.size || now.Sub(failed.at) < sealRetryEvery) {
		return // it would not fit again: no compression spent
	}
	var text string
	var err error
	if len(sv.Data) > seal.MaxPayload {
		err = fmt.Errorf("%w: payload of %d bytes (limit %d)", seal.ErrTooLarge, len(sv.Data), seal.MaxPayload)
	} else {
		t.attempts.Add(1)
		text, err = t.seal(sv, meta)
	}
	if err != nil {
		// A workspace over the seal caps gets no ticket (its pages keep the
		// last one): said once, not at every snapshot.
		t.mu.Lock()
		_, logged := t.tooLarge[sv.SessionID]
		if len(t.pages[sv.SessionID]) > 0 { // not after the last page left (it would never be cleared)
			t.tooLarge[sv.SessionID] = sealFailure{size: len(sv.Data), at: now}
		}
		t.mu.Unlock()
		if !logged {
			t.cfg.Log.Warn("workspace ticket not sealed; its pages keep their last ticket", "session", sv.SessionID, "gen", sv.Gen, "bytes", len(sv.Data), "err", err)
		}
		return
	}
	t.mu.Lock()
	delete(t.tooLarge, sv.SessionID) // it fits again
	t.mu.Unlock()
	frame := ticketFrame(sv, text)
	for _, k := range sinks {
		k.put(frame, false)
	}
}

func ticketFrame(sv sessions.Saved, text string) []byte {
	frame, _ := json.Marshal(map[string]any{"type": "ticket", "session": sv.SessionID, "gen": sv.Gen, "ticket": text})
	return frame
}

// put queues frame for the page (unless onlyFirst and one is queued
// already) and wakes its writer.
func (k *ticketSink) put(frame []byte, onlyFirst bool) {
	k.mu.Lock()
	if onlyFirst && k.frame != nil {
		k.mu.Unlock()
		return
	}
	k.frame = frame
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (t *Tickets) seal(sv sessions.Saved, m ticketMeta) (string, error) {
	head, _ := json.Marshal(ticketHeader{V: ticketVersion, User: sv.Owner, Account: m.account, Session: sv.SessionID,
		Name: sv.Name, Created: m.created, Gen: sv.Gen})
	payload := make([]byte, 0, len(head)+1+len(sv.Data))
	payload = append(append(append(payload, head...), '\n'), sv.Data...)
	return t.cfg.Ring.Seal(ticketPurpose(sv.SessionID), payload, t.cfg.TTL)
}

func ticketPurpose(sessionID string) string { return "workspace:" + sessionID }

// open reads a ticket sealed for sessionID.
func (t *Tickets) open(sessionID, text string) (ticketHeader, []byte, error) {
	var h ticketHeader
	raw, err := t.cfg.Ring.Open(ticketPurpose(sessionID), text)
	switch {
	case errors.Is(err, seal.ErrExpired):
		return h, nil, fmt.Errorf("%w (%v)", ErrTicketExpired, err)
	case err != nil:
		return h, nil, fmt.Errorf("%w (%v)", ErrTicketInvalid, err)
	}
	line, data, ok := bytes.Cut(raw, []byte("\n"))
	if !ok || json.Unmarshal(line, &h) != nil || h.V != ticketVersion {
		return h, nil, fmt.Errorf("%w (unreadable payload)", ErrTicketInvalid)
	}
	return h, data, nil
}

// Offer judges a ticket a page offers for session sessionID as user, and
// restores the session from it when the store does not have it (SPEC §10).
// It reports whether it restored. Refusals wrap one of the ErrTicket*
// errors: not a valid seal for this session (ErrTicketInvalid), expired,
// of another user or of another account of that name (the account's
// creation time differs: deleted and made again, ErrTicketUser), of
// another session, older than the newest generation the store holds
// (ErrTicketStale: no rollback), of an ended session, or a restore over
// max_sessions_per_user (ErrTicketLimit; the page keeps it). A ticket
// for a session the store has at that generation or a newer one it does
// not know (a store restored from a backup) is accepted and not used: the
// stored session is what attaches. Other errors are the store's.
func (t *Tickets) Offer(ctx context.Context, user, sessionID, text string) (bool, error) {
	h, data, err := t.open(sessionID, text)
	if err != nil {
		return false, err
	}
	switch {
	case h.User != user:
		return false, fmt.Errorf("%w (ticket of %q)", ErrTicketUser, h.User)
	case h.Session != sessionID:
		return false, fmt.Errorf("%w (ticket of %s)", ErrTicketSession, h.Session)
	}
	acct, err := t.cfg.Store.GetUser(ctx, user)
	switch {
	case errors.Is(err, persist.ErrNotFound):
		return false, fmt.Errorf("%w (no account %q)", ErrTicketUser, user)
	case err != nil:
		return false, err
	case acct.CreatedAt.UnixMilli() != h.Account:
		return false, fmt.Errorf("%w (ticket of an earlier account named %q)", ErrTicketUser, user)
	}
	rec, err := t.cfg.Store.GetSession(ctx, sessionID)
	if errors.Is(err, persist.ErrNotFound) {
		return t.restore(ctx, h, data)
	}
	if err != nil {
		return false, err
	}
	switch {
	case rec.Owner != user:
		return false, fmt.Errorf("%w (session of %q)", ErrTicketUser, rec.Owner)
	case rec.State == persist.StateEnded:
		return false, ErrTicketEnded
	}
	snaps, err := t.cfg.Store.Snapshots(ctx, sessionID)
	if err != nil {
		return false, err
	}
	if len(snaps) > 0 && h.Gen < snaps[0].Gen {
		return false, fmt.Errorf("%w (ticket generation %d, store %d)", ErrTicketStale, h.Gen, snaps[0].Gen)
	}
	return false, nil
}

// restore creates the session record (hibernated, with the ticket's id,
// name and owner) and stores the ticket's workspace as its first
// generation; attaching then wakes it as after any restart. A name now
// taken by another of the user's sessions gets a suffix.
func (t *Tickets) restore(ctx context.Context, h ticketHeader, data []byte) (bool, error) {
	now := t.cfg.Now()
	created := now
	if h.Created > 0 {
		created = time.UnixMilli(h.Created) // not a fresh age: max_session_age counts from the first creation
	}
	rec := persist.Session{ID: h.Session, Owner: h.User, State: persist.StateHibernated,
		CreatedAt: created, LastInputAt: now, DetachedAt: now}
	for i := 1; ; i++ {
		rec.Name = h.Name
		if i > 1 {
			rec.Name = fmt.Sprintf("%s-%d", h.Name, i)
		}
		err := t.cfg.Store.CreateSession(ctx, rec, t.cfg.MaxPerUser)
		if err == nil {
			break
		}
		if _, gerr := t.cfg.Store.GetSession(ctx, h.Session); gerr == nil {
			return false, nil // another page restored it meanwhile
		}
		if errors.Is(err, persist.ErrLimit) {
			return false, fmt.Errorf("%w (%d); end one and reload", ErrTicketLimit, t.cfg.MaxPerUser)
		}
		if !errors.Is(err, persist.ErrExists) || i == 5 {
			return false, fmt.Errorf("restore session %s from its ticket: %w", h.Session, err)
		}
	}
	if _, err := t.cfg.Store.PutSnapshot(ctx, h.Session, persist.Fence{Epoch: rec.Epoch}, persist.Seal(data)); err != nil {
		return false, fmt.Errorf("restore session %s from its ticket: %w", h.Session, err)
	}
	t.cfg.Log.Info("session restored from a workspace ticket", "session", h.Session, "user", h.User, "ticket_gen", h.Gen)
	detail := fmt.Sprintf("restored from the browser's workspace ticket (generation %d)", h.Gen)
	if err := t.cfg.Store.AppendEvent(ctx, persist.Event{SessionID: h.Session, At: now, Kind: "restored", Actor: h.User, Detail: detail}); err != nil {
		t.cfg.Log.Warn("history of a restored session", "session", h.Session, "err", err)
	}
	return true, nil
}

// attach registers a page open on session rec and writes the tickets
// meant for it until ctx ends: first one of the newest stored generation
// (so a page holds a ticket of this server's numbering at once, typing or
// not), then one per snapshot. It returns once the page is registered;
// the writer runs on its own goroutine, which ctx ends. A page whose
// owner's account cannot be read gets no tickets (logged).
func (t *Tickets) attach(ctx context.Context, rec persist.Session, ws *websocket.Conn) {
	sessionID := rec.ID
	owner, err := t.cfg.Store.GetUser(ctx, rec.Owner)
	if err != nil {
		t.cfg.Log.Warn("no workspace tickets for this page: its owner's account is unreadable", "session", sessionID, "user", rec.Owner, "err", err)
		return
	}
	meta := ticketMeta{account: owner.CreatedAt.UnixMilli(), created: rec.CreatedAt.UnixMilli()}
	k := &ticketSink{wake: make(chan struct{}, 1)}
	t.mu.Lock()
	if t.pages[sessionID] == nil {
		t.pages[sessionID] = map[*ticketSink]struct{}{}
	}
	t.pages[sessionID][k] = struct{}{}
	t.meta[sessionID] = meta
	t.mu.Unlock()
	go func() {
		defer func() {
			t.mu.Lock()
			delete(t.pages[sessionID], k)
			if len(t.pages[sessionID]) == 0 {
				delete(t.pages, sessionID)
				delete(t.meta, sessionID)
				delete(t.tooLarge, sessionID)
			}
			t.mu.Unlock()
		}()
		t.sendStored(ctx, rec, meta, k)
		for {
			select {
			case <-ctx.Done():
				return
			case <-k.wake:
			}
			k.mu.Lock()
			frame := k.frame
			k.frame = nil
			k.mu.Unlock()
			if frame == nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Write(wctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				return
			}
		}
	}()
}

// sendStored queues for k a ticket of rec's newest stored generation, if
// it has a readable one and no snapshot's ticket is queued (the writer
// has not started, so none was sent yet).
func (t *Tickets) sendStored(ctx context.Context, rec persist.Session, meta ticketMeta, k *ticketSink) {
	snaps, err := t.cfg.Store.Snapshots(ctx, rec.ID)
	if err != nil || len(snaps) == 0 {
		return
	}
	data, err := persist.Open(snaps[0].Data)
	if err != nil {
		return
	}
	sv := sessions.Saved{SessionID: rec.ID, Owner: rec.Owner, Name: rec.Name, Gen: snaps[0].Gen, Data: data}
	text, err := t.seal(sv, meta)
	if err != nil {
		return
	}
	k.put(ticketFrame(sv, text), true)
}

// ticketOffer is the first frame of a page that asked for ?ticket=1.
type ticketOffer struct {
	Type   string `json:"type"`
	Ticket string `json:"ticket"`
}

// offerTimeout bounds the wait for the page's ticket frame.
const offerTimeout = 10 * time.Second

// readOffer reads the page's ticket frame (a sealed text is at most
// seal.MaxSealed characters); "" when the frame holds none.
func readOffer(ctx context.Context, ws *websocket.Conn) (string, error) {
	ws.SetReadLimit(seal.MaxSealed + 1024)
	ctx, cancel := context.WithTimeout(ctx, offerTimeout)
	defer cancel()
	typ, data, err := ws.Read(ctx)
	if err != nil {
		return "", fmt.Errorf("read ticket offer: %w", err)
	}
	var o ticketOffer
	if typ != websocket.MessageText || json.Unmarshal(data, &o) != nil || o.Type != "ticket" {
		return "", errors.New("read ticket offer: the first frame is not a ticket")
	}
	return o.Ticket, nil
}

// offerTicket runs the ticket exchange of a page that asked for
// ?ticket=1, before its session is looked up. It returns the ref to open:
// ref itself, or "new" when the ticket was refused and the session is
// gone (a fresh workspace, SPEC §10). A refusal is told to the page.
func (s *Server) offerTicket(ctx context.Context, ws *websocket.Conn, user sessions.User, ref string) (string, error) {
	text, err := readOffer(ctx, ws)
	if err != nil || text == "" {
		return ref, err
	}
	restored, err := s.cfg.Tickets.Offer(ctx, user.Name, ref, text)
	if err == nil {
		if restored {
			s.cfg.Log.Info("web page restored its session from a ticket", "user", user.Name, "session", ref)
		}
		return ref, nil
	}
	refusal := refusalText(err)
	if refusal == "" {
		return ref, err // the store's trouble: not the ticket's fault
	}
	s.cfg.Log.Info("workspace ticket refused", "user", user.Name, "session", ref, "err", err)
	frame, _ := json.Marshal(map[string]string{"type": "ticket-refused", "session": ref, "reason": refusal})
	if err := ws.Write(ctx, websocket.MessageText, frame); err != nil {
		return ref, err
	}
	if rec, err := s.cfg.Manager.Find(ctx, user.Name, ref); err != nil || rec.State == persist.StateEnded {
		return "new", nil
	}
	return ref, nil
}

// refusalText is the sentence for a refused ticket, "" for other errors.
func refusalText(err error) string {
	for _, r := range []error{ErrTicketInvalid, ErrTicketExpired, ErrTicketUser, ErrTicketSession, ErrTicketStale, ErrTicketEnded} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return ""
}

// looksLikeSessionID reports whether ref has the shape of a session id (26
// characters of lowercase base32): only an id can have a ticket, so only
// an unknown id gets the terminal page that offers one.
func looksLikeSessionID(ref string) bool {
	if len(ref) != 26 {
		return false
	}
	for _, c := range ref {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
