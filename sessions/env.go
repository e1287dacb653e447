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
		Publish: func(msg tea.Msg) { m.chat.publishTo(u.Name, msg) },
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

// userChat is the chat service for one user.
type userChat struct {
	m    *Manager
	user string
}

// maxChatText bounds one chat message in bytes.
const maxChatText = 2000

// Post stores and fans out a message; over the poster's rate it is refused
// with tui.ErrSlowDown (see chatLimiter).
func (c userChat) Post(ctx context.Context, room, text string) error {
	if !c.m.chat.limit.allow(c.user, c.m.clock.Now()) {
		return fmt.Errorf("%w: at most %d chat messages a second (%d at once)", tui.ErrSlowDown, chatRate, chatBurst)
	}
	if len(text) > maxChatText {
		text = text[:maxChatText]
	}
	msg, err := c.m.store.PostChat(ctx, persist.ChatMessage{Room: room, User: c.user, Text: strings.ToValidUTF8(text, "?"), At: c.m.clock.Now()})
	if err != nil {
		return err
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
	return out, err
}

// chatHub fans posted messages out to every live session of this node, in
// order, from one goroutine, so a poster never waits for other sessions.
// It also carries a user's workspace news (tui.DocRenamed, tui.DocDeleted)
// to that user's sessions only.
type chatHub struct {
	mu    sync.Mutex // guards queue; a leaf lock
	queue []hubMsg
	wake  chan struct{}
	limit chatLimiter
}

// Chat posts per user per node (issue 8 item 7): a token bucket refilled at
// chatRate a second, holding at most chatBurst.
const (
	chatRate  = 5
	chatBurst = 10
)

// chatLimiter is the per-user post rate. Times come from the manager's
// clock, so tests are exact.
type chatLimiter struct {
	mu      sync.Mutex // guards buckets; a leaf lock
	buckets map[string]chatBucket
}

type chatBucket struct {
	tokens float64
	at     time.Time
}

// allow takes a token from user's bucket, or reports false when it is empty.
func (l *chatLimiter) allow(user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]chatBucket{}
	}
	b, ok := l.buckets[user]
	if !ok {
		b = chatBucket{tokens: chatBurst, at: now}
	}
	b.tokens = min(chatBurst, b.tokens+max(now.Sub(b.at), 0).Seconds()*chatRate)
	b.at = now
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[user] = b
	if len(l.buckets) > 1024 {
		// Forget users whose bucket has refilled: they start full anyway.
		for u, x := range l.buckets {
			if x.tokens+max(now.Sub(x.at), 0).Seconds()*chatRate >= chatBurst {
				delete(l.buckets, u)
			}
		}
	}
	return allowed
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

// chatLoop delivers queued messages until the manager stops.
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
		for _, item := range batch {
			for _, s := range live {
				if item.user == "" || s.rec.Owner == item.user { // Owner never changes, like ID
					s.deliver(item.msg)
				}
			}
		}
	}
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
