// Package chat is the Chat app: rooms (#lobby by default) with persisted
// history, live delivery from every session, an unread badge and a kept draft.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

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
			c.load()
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
	c.load()
	return c, nil
}

// load reads the current room's history and counts unread lines per room.
func (c *Chat) load() {
	c.unread = map[string]int{}
	if c.env.Chat == nil {
		c.err = "chat is not available"
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range c.rooms {
		msgs, err := c.env.Chat.History(ctx, r, 0, historyLimit)
		if err != nil {
			c.err = "cannot load " + r + ": " + err.Error()
			continue
		}
		for _, m := range msgs {
			if m.Seq > c.seen[r] && m.User != c.env.User {
				c.unread[r]++
			}
		}
		if r == c.room {
			c.lines = msgs
		}
	}
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
	if !c.focused || c.scroll != 0 {
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
	case tui.ChatMsg:
		c.receive(tui.ChatMessage(m))
	case tea.PasteMsg:
		c.typeText(m.Content)
	case tea.KeyPressMsg:
		c.key(m)
	}
}

func (c *Chat) receive(m tui.ChatMessage) {
	if !slices.Contains(c.rooms, m.Room) {
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
	if c.env.Chat == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.env.Chat.Post(ctx, c.room, text); err != nil {
		c.notify("not sent: " + err.Error())
		return
	}
	c.draft = nil
	c.scroll = 0
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
	if c.env.Chat != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if msgs, err := c.env.Chat.History(ctx, room, 0, historyLimit); err == nil {
			c.lines = msgs
		}
	}
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
		label := r
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
		line := fmt.Sprintf("%s %s: %s", m.At.UTC().Format("15:04"), nameStyle.Render(m.User), m.Text)
		rows = append(rows, strings.Split(ansi.Wrap(line, width, ""), "\n")...)
	}
	if c.err != "" {
		rows = append(rows, c.err)
	}
	bodyH := max(height-2, 0)
	c.scroll = min(c.scroll, max(len(rows)-bodyH, 0))
	end := len(rows) - c.scroll
	start := max(end-bodyH, 0)
	body := make([]string, bodyH)
	copy(body[bodyH-(end-start):], rows[start:end])
	prompt := promptStyle.Render("> ")
	draft := string(c.draft)
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
