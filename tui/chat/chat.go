// Package chat is the Chat app: rooms (#lobby by default) with persisted
// history, live delivery from every session, an unread badge and a kept draft.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
)

// Version is the state format version this code writes.
const Version = 1

// Lobby is the room everyone starts in.
const Lobby = "#lobby"

// historyLimit is how many lines of a room are kept in memory.
const historyLimit = 200

// maxDraft bounds a draft (and so a message) in bytes.
const maxDraft = 2000

// Kind registers Chat.
func Kind() tui.Kind {
	return tui.Kind{Name: "chat", Title: "Chat", Version: Version,
		New: func(env tui.Env, room string) tui.App {
			if room == "" {
				room = Lobby
			}
			c := &Chat{env: env, room: room, rooms: []string{room}, seen: map[string]int64{}}
			c.load(c.rooms...)
			return c
		},
		Restore: restore,
	}
}

type state struct {
	Room   string           `json:"room"`
	Rooms  []string         `json:"rooms"`
	Draft  string           `json:"draft"`
	Scroll int              `json:"scroll"`
	Seen   map[string]int64 `json:"seen"`
}

// Chat is one chat tab.
type Chat struct {
	env     tui.Env
	room    string
	rooms   []string
	draft   []rune
	scroll  int // lines up from the newest
	seen    map[string]int64
	lines   []tui.ChatMessage // current room, oldest first
	unread  map[string]int
	focused bool
	err     string

	// loading holds the rooms whose history is being read; early keeps
	// what arrives live for them meanwhile, merged when the history lands.
	loading map[string]bool
	early   map[string][]tui.ChatMessage
	// stale holds loading rooms that must be read again when their load
	// lands: a tui.ChatResync came meanwhile, so lines may be missing.
	stale map[string]bool
	// outbox holds posts not yet acknowledged, oldest first; the first is
	// in flight. One at a time keeps them in order.
	outbox []post
}

// Results of store commands (tui.Env.Go), handed back to the tab that ran them.
type (
	historyMsg []roomHistory
	postedMsg  struct{ err error }
)

// post is a message on its way to a room.
type post struct{ room, text string }

// maxOutbox bounds the posts waiting for the store; more is "slow down".
const maxOutbox = 10

type roomHistory struct {
	room string
	msgs []tui.ChatMessage
	err  error
}

func restore(env tui.Env, _ int, raw json.RawMessage) (tui.App, error) {
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if s.Room == "" {
		s.Room = Lobby
	}
	if !slices.Contains(s.Rooms, s.Room) {
		s.Rooms = append(s.Rooms, s.Room)
	}
	if s.Seen == nil {
		s.Seen = map[string]int64{}
	}
	c := &Chat{env: env, room: s.Room, rooms: s.Rooms, draft: []rune(s.Draft), scroll: max(s.Scroll, 0), seen: s.Seen}
	c.load(c.rooms...)
	return c, nil
}

// load reads the history of rooms off the session's lock, in one command;
// historyMsg brings it back (unread counts, the current room's lines).
func (c *Chat) load(rooms ...string) {
	if c.unread == nil {
		c.unread, c.loading, c.early = map[string]int{}, map[string]bool{}, map[string][]tui.ChatMessage{}
	}
	chat := c.env.Chat
	if chat == nil {
		c.err = "chat is not available"
		return
	}
	var todo []string
	for _, r := range rooms {
		if !c.loading[r] {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return
	}
	if !c.env.Go(func(ctx context.Context) tea.Msg {
		out := make(historyMsg, 0, len(todo))
		for _, r := range todo {
			msgs, err := chat.History(ctx, r, 0, historyLimit)
			out = append(out, roomHistory{room: r, msgs: msgs, err: err})
		}
		return out
	}) {
		c.err = "chat is not available"
		return
	}
	for _, r := range todo {
		c.loading[r] = true
	}
}

// loaded takes read histories: it merges what arrived live meanwhile and
// counts the unread lines of each room.
func (c *Chat) loaded(h historyMsg) {
	var again []string
	for _, rh := range h {
		delete(c.loading, rh.room)
		if c.stale[rh.room] {
			delete(c.stale, rh.room)
			again = append(again, rh.room)
		}
		early := c.early[rh.room]
		delete(c.early, rh.room)
		if rh.err != nil {
			c.err = "cannot load " + rh.room + ": " + rh.err.Error()
			continue
		}
		if !slices.Contains(c.rooms, rh.room) {
			continue // left meanwhile
		}
		msgs := rh.msgs
		for _, m := range early {
			if n := len(msgs); n == 0 || m.Seq > msgs[n-1].Seq {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) > historyLimit {
			msgs = slices.Delete(msgs, 0, len(msgs)-historyLimit)
		}
		c.unread[rh.room] = 0
		for _, m := range msgs {
			if m.Seq > c.seen[rh.room] && m.User != c.env.User {
				c.unread[rh.room]++
			}
		}
		if rh.room == c.room {
			c.lines, c.err = msgs, ""
		}
	}
	if len(again) > 0 {
		c.load(again...)
	}
	c.markRead()
}

// Kind implements tui.App.
func (c *Chat) Kind() string { return "chat" }

// Title implements tui.App.
func (c *Chat) Title() string {
	if n := c.Unread(); n > 0 {
		return fmt.Sprintf("%s (%d)", c.room, n)
	}
	return c.room
}

// Documents implements tui.App.
func (c *Chat) Documents() []string { return []string{} }

// Unread implements tui.Badger.
func (c *Chat) Unread() int {
	n := 0
	for _, v := range c.unread {
		n += v
	}
	return n
}

// SetFocused implements tui.Focuser: a visible room at the bottom is read.
func (c *Chat) SetFocused(f bool) {
	c.focused = f
	c.markRead()
}

func (c *Chat) markRead() {
	if !c.focused || c.scroll != 0 || c.loading[c.room] {
		return
	}
	c.unread[c.room] = 0
	if n := len(c.lines); n > 0 {
		c.seen[c.room] = max(c.seen[c.room], c.lines[n-1].Seq)
	}
}

// State implements tui.App.
func (c *Chat) State() (json.RawMessage, error) {
	return json.Marshal(state{Room: c.room, Rooms: c.rooms, Draft: string(c.draft), Scroll: c.scroll, Seen: c.seen})
}

// Update implements tui.App.
func (c *Chat) Update(msg tea.Msg) {
	switch m := msg.(type) {
	case historyMsg:
		c.loaded(m)
	case postedMsg:
		c.posted(m)
	case tui.ChatMsg:
		c.receive(tui.ChatMessage(m))
	case tui.ChatResync:
		c.resync()
	case tea.PasteMsg:
		c.typeText(m.Content)
	case tea.KeyPressMsg:
		c.key(m)
	}
}

// resync reads every room again: live lines were dropped for this session
// (its mailbox overflowed), and the store has them. A room being read now
// is read once more when that read lands.
func (c *Chat) resync() {
	if c.stale == nil {
		c.stale = map[string]bool{}
	}
	for _, r := range c.rooms {
		if c.loading[r] {
			c.stale[r] = true
		}
	}
	c.load(c.rooms...)
}

func (c *Chat) receive(m tui.ChatMessage) {
	if !slices.Contains(c.rooms, m.Room) {
		return
	}
	if c.loading[m.Room] {
		if len(c.early[m.Room]) < historyLimit {
			c.early[m.Room] = append(c.early[m.Room], m)
		}
		return
	}
	if m.Room == c.room {
		if n := len(c.lines); n > 0 && c.lines[n-1].Seq >= m.Seq {
			return // already loaded
		}
		c.lines = append(c.lines, m)
		if len(c.lines) > historyLimit {
			c.lines = slices.Delete(c.lines, 0, len(c.lines)-historyLimit)
		}
		if c.scroll > 0 {
			c.scroll++ // keep the reader's place
		}
	}
	if m.Seq > c.seen[m.Room] && m.User != c.env.User {
		c.unread[m.Room]++
	}
	c.markRead()
}

// Unsaved implements tui.Unsaver: a draft with text is not sent yet, and
// closing the tab would lose it (SPEC §5, ctrl+b x asks first).
func (c *Chat) Unsaved() bool { return strings.TrimSpace(string(c.draft)) != "" }

func (c *Chat) key(k tea.KeyPressMsg) {
	switch k.String() {
	case "enter":
		c.submit()
	case "backspace", "ctrl+h":
		if len(c.draft) > 0 {
			c.draft = c.draft[:len(c.draft)-1]
		}
	case "ctrl+u":
		c.draft = nil
	case "pgup":
		c.scroll += 5
	case "pgdown":
		c.scroll = max(c.scroll-5, 0)
		c.markRead()
	case "tab":
		i := slices.Index(c.rooms, c.room)
		c.switchRoom(c.rooms[(i+1)%len(c.rooms)])
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			c.typeText(k.Text)
		}
	}
}

func (c *Chat) typeText(s string) {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(string(c.draft))+len(s) <= maxDraft {
		c.draft = append(c.draft, []rune(s)...)
	}
}

func (c *Chat) submit() {
	text := strings.TrimSpace(string(c.draft))
	if text == "" {
		return
	}
	if room, ok := strings.CutPrefix(text, "/join "); ok {
		room = strings.TrimSpace(room)
		if !strings.HasPrefix(room, "#") {
			room = "#" + room
		}
		if !validRoom(room) {
			c.notify("room names are # and up to 32 letters, digits, - or _")
			return
		}
		if !slices.Contains(c.rooms, room) {
			c.rooms = append(c.rooms, room)
		}
		c.draft = nil
		c.switchRoom(room)
		return
	}
	if text == "/part" || text == "/leave" {
		if len(c.rooms) > 1 {
			c.rooms = slices.DeleteFunc(c.rooms, func(r string) bool { return r == c.room })
			delete(c.unread, c.room)
			c.draft = nil
			c.switchRoom(c.rooms[0])
		}
		return
	}
	if c.env.Chat == nil || c.env.Run == nil {
		c.notify("not sent: chat is not available")
		return
	}
	if len(c.outbox) >= maxOutbox {
		c.notify("slow down: earlier messages are still being sent")
		return
	}
	c.outbox = append(c.outbox, post{room: c.room, text: text})
	c.draft = nil
	c.scroll = 0
	if len(c.outbox) == 1 {
		c.send()
	}
}

// send posts the oldest message of the outbox off the session's lock.
func (c *Chat) send() {
	chat, p := c.env.Chat, c.outbox[0]
	c.env.Go(func(ctx context.Context) tea.Msg { return postedMsg{err: chat.Post(ctx, p.room, p.text)} })
}

// posted takes a post's result and sends the next. A refused post and the
// ones queued after it come back as the draft, so no typed text is lost.
func (c *Chat) posted(m postedMsg) {
	if len(c.outbox) == 0 {
		return
	}
	if m.err == nil {
		c.outbox = slices.Delete(c.outbox, 0, 1)
		if len(c.outbox) > 0 {
			c.send()
		}
		return
	}
	if errors.Is(m.err, tui.ErrSlowDown) {
		c.notify("slow down: message not sent; try again in a moment")
	} else {
		c.notify("not sent: " + m.err.Error())
	}
	var back []string
	for _, p := range c.outbox {
		back = append(back, p.text)
	}
	if len(c.draft) > 0 {
		back = append(back, string(c.draft))
	}
	c.outbox = nil
	c.draft = []rune(strings.Join(back, " "))
}

func validRoom(r string) bool {
	if len(r) < 2 || len(r) > 33 {
		return false
	}
	for _, ch := range r[1:] {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

func (c *Chat) switchRoom(room string) {
	c.room, c.scroll = room, 0
	c.lines = nil
	c.load(room)
	c.markRead()
}

func (c *Chat) notify(msg string) {
	if c.env.Notify != nil {
		c.env.Notify(msg)
	}
}

var (
	roomStyle   = lipgloss.NewStyle().Reverse(true)
	nameStyle   = lipgloss.NewStyle().Bold(true)
	promptStyle = lipgloss.NewStyle().Faint(true)
)

// View implements tui.App: a room bar, the newest lines that fit (wrapped),
// and the draft line at the bottom.
func (c *Chat) View(width, height int) (string, *tui.Cursor) {
	var bar []string
	for _, r := range c.rooms {
		label := tui.Printable(r)
		if n := c.unread[r]; n > 0 && r != c.room {
			label += fmt.Sprintf("(%d)", n)
		}
		if r == c.room {
			label = roomStyle.Render(label)
		}
		bar = append(bar, label)
	}
	var rows []string
	for _, m := range c.lines {
		line := fmt.Sprintf("%s %s: %s", m.At.UTC().Format("15:04"), nameStyle.Render(tui.Printable(m.User)), tui.Printable(m.Text))
		rows = append(rows, strings.Split(ansi.Wrap(line, width, ""), "\n")...)
	}
	if c.err != "" {
		rows = append(rows, c.err)
	}
	bodyH := max(height-2, 0)
	scroll := 0
	if c.loading[c.room] {
		// The scroll position waits for the lines it counts (restore is exact).
		rows = append(rows, "loading…")
	} else {
		c.scroll = min(c.scroll, max(len(rows)-bodyH, 0))
		scroll = c.scroll
	}
	end := len(rows) - scroll
	start := max(end-bodyH, 0)
	body := make([]string, bodyH)
	copy(body[bodyH-(end-start):], rows[start:end])
	prompt := promptStyle.Render("> ")
	draft := tui.Printable(string(c.draft)) // a pasted control shows escaped
	// Show the tail of a draft longer than the line.
	avail := max(width-2, 1)
	if w := ansi.StringWidthWc(draft); w >= avail {
		draft = ansi.TruncateLeftWc(draft, w-avail+1, "")
	}
	out := append([]string{strings.Join(bar, " ")}, body...)
	out = append(out, prompt+draft)
	if height < 2 {
		return strings.Join(out[len(out)-height:], "\n"), nil
	}
	return strings.Join(out, "\n"), &tui.Cursor{X: 2 + ansi.StringWidthWc(draft), Y: height - 1}
}
