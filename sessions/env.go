package sessions

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"termhost/persist"
	"termhost/tui"
)

// env builds what the apps of u's workspace in session id may use; run is
// the session's command runner (Session.run). It is the only place an Env
// is made: new, restored, last-workspace and woken workspaces all get this
// one, and tui hands it to every app the same way.
func (m *Manager) env(u User, id string, run func(tea.Cmd)) tui.Env {
	env := tui.Env{
		User: u.Name, Admin: u.Admin,
		Docs: userDocs{store: m.store, owner: u.Name},
		Chat: userChat{m: m, user: u.Name},
		Who:  m.presence,
		Now:  m.clock.Now,
		Run:  run,
		Log:  m.log.With("session", id, "user", u.Name),
		// Document renames and deletes reach the user's other sessions'
		// tabs (issue 9); queued, so the caller never waits.
		Publish:      func(msg tea.Msg) { m.chat.publishTo(u.Name, msg) },
		StoreTimeout: m.storeTimeout,
	}
	if u.Admin {
		env.Ops = adminOps{m: m, actor: u.Name}
	}
	return env
}

// presence lists users with live sessions. It takes session locks, so apps
// call it through Env.Run, never from Update.
func (m *Manager) presence(ctx context.Context) ([]tui.Presence, error) {
	m.mu.Lock()
	live := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	now := m.clock.Now()
	byUser := map[string]*tui.Presence{}
	add := func(owner string, attached bool, idle time.Duration) {
		p := byUser[owner]
		if p == nil {
			p = &tui.Presence{User: owner, Idle: idle}
			byUser[owner] = p
		}
		p.Sessions++
		if attached {
			p.Attached++
		}
		p.Idle = min(p.Idle, idle)
	}
	mine := make(map[string]bool, len(live))
	for _, s := range live {
		s.mu.Lock()
		id, owner, attached, idle := s.rec.ID, s.rec.Owner, len(s.clients) > 0, now.Sub(s.rec.LastInputAt)
		s.mu.Unlock()
		mine[id] = true
		add(owner, attached, idle)
	}
	// Sessions other nodes run, as their owners last wrote them (SPEC §6:
	// Who crosses nodes).
	for _, state := range []string{persist.StateAttached, persist.StateDetached} {
		recs, err := m.store.ListSessions(ctx, persist.SessionFilter{State: state})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !mine[r.ID] && r.Node != m.node {
				add(r.Owner, len(r.Attachments) > 0, now.Sub(r.LastInputAt))
			}
		}
	}
	out := make([]tui.Presence, 0, len(byUser))
	for _, p := range byUser {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// listingChanged tells the other nodes that session id's record changed
// (attached, detached, ended...), so that their Who and Admin tables
// follow (SPEC §6: Who crosses nodes). A lost wake-up leaves a table stale
// until its next change or refresh ("r"): it is a view, not state.
func (m *Manager) listingChanged(ctx context.Context, id string) {
	logErr(m.log, "notify session change", m.store.Notify(ctx, persist.SessionsChannel, m.node+" "+id), "session", id)
}

// listingsEvery bounds how often other nodes' session changes refresh
// this node's open tables: each refresh rereads the store (attack trial: a
// node's logins once a second elsewhere kept an open Admin table of
// 100,000 sessions reloading back to back, 0.5 cores).
const listingsEvery = time.Second

// listingsLoop turns other nodes' session changes into this node's
// tui.SessionsChanged notices (this node's own are published directly),
// at most one per listingsEvery: the first at once, later ones folded
// into one at the end of the interval.
// The interval is on the wall clock, not the manager's: it paces store
// reads, and a test's fake clock that nobody advances must not hold a
// folded notice back forever.
func (m *Manager) listingsLoop(wakeups <-chan string) {
	defer m.wg.Done()
	var last time.Time
	var due <-chan time.Time // a folded notice waits for it
	for {
		select {
		case <-m.stop:
			return
		case <-due:
			due, last = nil, time.Now()
			m.chat.publishTo("", tui.SessionsChanged{})
		case p, ok := <-wakeups:
			if !ok {
				return
			}
			if i := strings.LastIndexByte(p, ' '); i >= 0 && p[:i] == m.node {
				continue
			}
			switch wait := listingsEvery - time.Since(last); {
			case due != nil: // folded into the one already waiting
			case wait > 0:
				due = time.After(wait)
			default:
				last = time.Now()
				m.chat.publishTo("", tui.SessionsChanged{})
			}
		}
	}
}

// userChat is the chat service for one user.
type userChat struct {
	m    *Manager
	user string
}

// maxChatText bounds one chat message in bytes.
const maxChatText = 2000

// Post stores and fans out a message; over the poster's rate or the node's
// it is refused with tui.ErrSlowDown (see chatLimiter).
func (c userChat) Post(ctx context.Context, room, text string) error {
	if err := c.m.chat.limit.allow(c.user, c.m.clock.Now()); err != nil {
		return err
	}
	if len(text) > maxChatText {
		text = text[:maxChatText]
	}
	msg, err := c.m.store.PostChat(ctx, persist.ChatMessage{Room: room, User: c.user, Text: strings.ToValidUTF8(text, "?"), At: c.m.clock.Now()})
	if err != nil {
		return storeErr(ctx, err)
	}
	// Delivered by the relay, here as on every other node (chatrelay.go).
	c.m.chatPosted(ctx, msg.Seq)
	return nil
}

func (c userChat) History(ctx context.Context, room string, before int64, limit int) ([]tui.ChatMessage, error) {
	msgs, err := c.m.store.ChatHistory(ctx, room, before, limit)
	out := make([]tui.ChatMessage, 0, len(msgs))
	for _, x := range msgs {
		out = append(out, tui.ChatMessage{Seq: x.Seq, Room: x.Room, User: x.User, Text: x.Text, At: x.At})
	}
	return out, storeErr(ctx, err)
}

// chatHub fans posted messages out to every live session of this node, in
// order, so a poster never waits for other sessions. It also carries a
// user's workspace news (tui.DocRenamed, tui.DocDeleted) to that user's
// sessions only. One goroutine (chatLoop) sorts messages into a mailbox
// per session; each mailbox is emptied by its own drain goroutine, so a
// session whose lock is held (a big paste, a slow render) delays only
// itself (issue 8).
type chatHub struct {
	mu    sync.Mutex // guards queue; a leaf lock
	queue []hubMsg
	wake  chan struct{}
	limit chatLimiter

	// boxes holds each live session's mailbox by session id; only
	// chatLoop touches the map.
	boxes map[string]*mailbox
}

// hubMsg is one queued delivery: to every live session, or to user's.
type hubMsg struct {
	user string // "" for everyone
	msg  tea.Msg
}

func (h *chatHub) publish(msg tui.ChatMsg) { h.publishTo("", msg) }

func isSessionsChanged(q hubMsg) bool {
	_, ok := q.msg.(tui.SessionsChanged)
	return ok
}

// publishTo queues msg for user's live sessions ("" for all); it never
// blocks.
func (h *chatHub) publishTo(user string, msg tea.Msg) {
	h.mu.Lock()
	if _, ok := msg.(tui.SessionsChanged); ok && slices.ContainsFunc(h.queue, isSessionsChanged) {
		h.mu.Unlock() // one pending SessionsChanged says it all
		return
	}
	h.queue = append(h.queue, hubMsg{user: user, msg: msg})
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// chatLoop sorts queued messages into the live sessions' mailboxes until
// the manager stops. It never takes a Session lock: the drains do.
func (m *Manager) chatLoop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.chat.wake:
		}
		m.chat.mu.Lock()
		batch := m.chat.queue
		m.chat.queue = nil
		m.chat.mu.Unlock()
		m.mu.Lock()
		live := make([]*Session, 0, len(m.live))
		for _, s := range m.live {
			live = append(live, s)
		}
		m.mu.Unlock()
		boxes := make(map[string]*mailbox, len(live))
		for _, s := range live {
			b := m.chat.boxes[s.rec.ID] // ID and Owner never change
			if b == nil {
				b = &mailbox{}
			}
			boxes[s.rec.ID] = b
			for _, item := range batch {
				if item.user == "" || s.rec.Owner == item.user {
					b.put(item.msg)
				}
			}
			if b.claim() {
				m.wg.Add(1) // chatLoop is counted, so the counter is above 0
				go func() {
					defer m.wg.Done()
					b.drain(s)
				}()
			}
		}
		m.chat.boxes = boxes // the ended sessions' boxes go
	}
}

// Chat posts (issue 8): a token bucket per user (chatRate a second,
// chatBurst at once) and one for the node (nodeChatRate, nodeChatBurst),
// so many accounts together cannot flood every session either. A calm
// user — one who has tried to post at most calmRate a second lately
// (calmBurst at once) — may dip chatReserve posts below an empty node
// bucket: a crowd of busy posters slows itself, not a bystander's line.
const (
	chatRate      = 5
	chatBurst     = 10
	nodeChatRate  = 30
	nodeChatBurst = 60
	chatReserve   = 20
	calmRate      = 1
	calmBurst     = 5
)

// chatLimiter is the post rate per user and per node. Times come from the
// manager's clock, so tests are exact.
type chatLimiter struct {
	mu      sync.Mutex // guards the fields below; a leaf lock
	users   map[string]chatUser
	node    chatBucket // starts full (see allow)
	started bool
}

// chatUser is one user's buckets: posts taken, and attempts (calm).
type chatUser struct{ posts, calm chatBucket }

type chatBucket struct {
	tokens float64
	at     time.Time
}

// fill refills b at rate up to burst; a clock that steps back adds nothing.
func (b chatBucket) fill(now time.Time, rate, burst float64) chatBucket {
	return chatBucket{tokens: min(burst, b.tokens+max(now.Sub(b.at), 0).Seconds()*rate), at: now}
}

// allow takes a token from user's bucket and one from the node's, or
// returns an error wrapping tui.ErrSlowDown that says which was empty.
// Every attempt, refused or not, counts against the user's calm, so a
// refused crowd keeps no claim on the reserve.
func (l *chatLimiter) allow(user string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.users, l.node, l.started = map[string]chatUser{}, chatBucket{tokens: nodeChatBurst, at: now}, true
	}
	u, ok := l.users[user]
	if !ok {
		u = chatUser{posts: chatBucket{tokens: chatBurst, at: now}, calm: chatBucket{tokens: calmBurst, at: now}}
	}
	u.posts = u.posts.fill(now, chatRate, chatBurst)
	u.calm = u.calm.fill(now, calmRate, calmBurst)
	l.node = l.node.fill(now, nodeChatRate, nodeChatBurst)
	calm := u.calm.tokens >= 1
	u.calm.tokens = max(u.calm.tokens-1, -calmBurst) // a long flood stays uncalm a while
	defer func() { l.users[user] = u; l.forget(now) }()
	if u.posts.tokens < 1 {
		return fmt.Errorf("%w: at most %d chat messages a second (%d at once)", tui.ErrSlowDown, chatRate, chatBurst)
	}
	floor := 1.0
	if calm {
		floor = 1 - chatReserve
	}
	if l.node.tokens < floor {
		return fmt.Errorf("%w: the chat is busy (at most %d messages a second from everyone)", tui.ErrSlowDown, nodeChatRate)
	}
	u.posts.tokens--
	l.node.tokens--
	return nil
}

// forget drops, past 1024 users, the users whose buckets have refilled:
// they start full anyway. Caller holds mu.
func (l *chatLimiter) forget(now time.Time) {
	if len(l.users) <= 1024 {
		return
	}
	for name, u := range l.users {
		if u.posts.fill(now, chatRate, chatBurst).tokens >= chatBurst && u.calm.fill(now, calmRate, calmBurst).tokens >= calmBurst {
			delete(l.users, name)
		}
	}
}

// maxMailChats bounds the chat lines waiting in one session's mailbox.
// Past it they are dropped for one tui.ChatResync: they are in the store
// already (Post writes before it publishes), and the chat tabs read their
// rooms again, which costs one query per room instead of a line each.
const maxMailChats = 48

// mailbox holds what waits for one session: the session takes everything
// pending at once, under one lock and with one redraw.
type mailbox struct {
	mu       sync.Mutex // guards the fields below; a leaf lock
	msgs     []tea.Msg
	chats    int  // ChatMsgs in msgs
	resync   bool // a ChatResync is in msgs: further chat lines are dropped
	changed  bool // a SessionsChanged is in msgs
	draining bool // a drain goroutine owns the delivery
}

// put adds msg, coalescing SessionsChanged notices and, past
// maxMailChats, chat lines.
func (b *mailbox) put(msg tea.Msg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch msg.(type) {
	case tui.SessionsChanged:
		if b.changed {
			return
		}
		b.changed = true
	case tui.ChatMsg:
		if b.resync {
			return
		}
		if b.chats >= maxMailChats {
			b.msgs = slices.DeleteFunc(b.msgs, func(m tea.Msg) bool { _, ok := m.(tui.ChatMsg); return ok })
			b.chats, b.resync = 0, true
			msg = tui.ChatResync{}
		} else {
			b.chats++
		}
	}
	b.msgs = append(b.msgs, msg)
}

// claim reports whether the caller must start a drain: something waits
// and no drain runs.
func (b *mailbox) claim() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.draining || len(b.msgs) == 0 {
		return false
	}
	b.draining = true
	return true
}

// take empties the mailbox; when it was empty the drain ends.
func (b *mailbox) take() []tea.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.msgs
	b.msgs, b.chats, b.resync, b.changed = nil, 0, false, false
	if len(msgs) == 0 {
		b.draining = false
	}
	return msgs
}

// drain delivers to s until the mailbox is empty: each round takes all
// that is pending, so a busy session catches up in one round. It ends:
// posts are bounded per node (chatLimiter) and a round takes them all.
func (b *mailbox) drain(s *Session) {
	for {
		msgs := b.take()
		if len(msgs) == 0 {
			return
		}
		s.deliverAll(msgs)
	}
}

// deliverAll applies queued messages (chat, news) and redraws once.
func (s *Session) deliverAll(msgs []tea.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	dirty := false
	for _, msg := range msgs {
		// Nobody looks at a session without clients: its tables need not
		// follow changes (its next attach is an event that refreshes them).
		if _, notice := msg.(tui.SessionsChanged); notice && len(s.clients) == 0 {
			continue
		}
		if !s.contain("deliver", func() { s.ws.Update(msg) }) {
			s.ws.Notice = "internal error: a message was dropped (logged)"
		}
		// A SessionsChanged notice changes no state by itself (see
		// deliver): it alone does not mark the workspace dirty.
		if _, notice := msg.(tui.SessionsChanged); !notice {
			dirty = true
		}
	}
	if dirty {
		s.markDirtyLocked()
	}
	s.renderLocked()
}

// adminOps is the Admin app's view of the manager; every action is audited.
type adminOps struct {
	m     *Manager
	actor string
}

func (a adminOps) Sessions(ctx context.Context) ([]tui.SessionRow, error) {
	infos, err := a.m.List(ctx, "", "")
	if err != nil {
		return nil, err
	}
	now := a.m.clock.Now()
	rows := make([]tui.SessionRow, 0, len(infos))
	for _, in := range infos {
		var apps []string
		for _, x := range in.Apps {
			apps = append(apps, x.App)
		}
		rows = append(rows, tui.SessionRow{ID: in.ID, User: in.Owner, Name: in.Name, State: in.State,
			Clients: len(in.Clients), Idle: now.Sub(in.LastInputAt).Truncate(time.Second), Apps: strings.Join(apps, ",")})
	}
	return rows, nil
}

func (a adminOps) Detach(ctx context.Context, id string) error {
	_, err := a.m.Detach(ctx, id, a.actor)
	a.audit(ctx, "detach", id, "", err)
	return err
}

func (a adminOps) Kill(ctx context.Context, id string) error {
	err := a.m.Kill(ctx, id, a.actor)
	a.audit(ctx, "kill", id, "", err)
	return err
}

func (a adminOps) Message(ctx context.Context, id, text string) error {
	_, err := a.m.Message(ctx, id, a.actor, text)
	a.audit(ctx, "message", id, text, err)
	return err
}

func (a adminOps) audit(ctx context.Context, action, target, detail string, err error) {
	if err != nil {
		detail += " (failed: " + err.Error() + ")"
	}
	logErr(a.m.log, "audit", a.m.store.AppendAudit(ctx, persist.AuditEntry{At: a.m.clock.Now(), Actor: a.actor, Action: action, Target: target, Detail: strings.TrimSpace(detail)}))
}
