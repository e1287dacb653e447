package sessions

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
)

// Conn is what a transport hands the session layer: the user's terminal.
// Close ends the connection (for SSH: exit status, then channel close).
//
// The newline rule every transport keeps: a "\n" written to a Conn must
// reach the terminal as CR LF (the SSH pty writer and telnet's NVT output do
// this; the web transport does it itself), because the renderer counts on a
// newline also returning the carriage.
type Conn interface {
	io.ReadWriter
	Close() error
}

// FarewellConn is a Conn whose protocol can carry why the session layer
// ends it (the web transport's WebSocket close reason): Farewell is called
// with the reason before the farewell bytes are queued and Close follows.
// An empty reason means the client itself left.
type FarewellConn interface {
	Conn
	Farewell(reason string)
}

// ClientInfo describes a connection.
type ClientInfo struct {
	Transport string // "ssh" or "telnet"
	Remote    string
	Term      string
	// Locale is the client's LC_ALL, else LC_CTYPE, else LANG (POSIX
	// precedence; OpenSSH sends them with SendEnv), "" when unknown.
	Locale string
	Width  int
	Height int
	// Resizes delivers window size changes; may be nil.
	Resizes <-chan Size
	// Notice, if set, is shown in the status bar once the workspace is
	// drawn: a line printed before it would vanish with the alternate
	// screen (issue 9: the first admin was never told). See
	// NewAccountNotice.
	Notice string
}

// NewAccountNotice is the status-bar notice of a login that created the
// account name; admin: it is the first account, hence an admin (SPEC §7).
func NewAccountNotice(name string, admin bool) string {
	if admin {
		return fmt.Sprintf("Account %s created: the first one, so it is an admin", name)
	}
	return fmt.Sprintf("Account %s created", name)
}

// Size is a terminal size in cells.
type Size struct{ Width, Height int }

// ForwardSizes turns a transport's window-size events into Sizes on out
// (newest wins) until in closes or ctx ends.
func ForwardSizes[T any](ctx context.Context, in <-chan T, out chan Size, size func(T) Size) {
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-in:
			if !ok {
				return
			}
			OfferSize(out, size(w))
		}
	}
}

// OfferSize puts sz on ch (buffered, capacity 1), replacing a size not yet
// taken: the newest wins and a transport never blocks on a slow session.
func OfferSize(ch chan Size, sz Size) {
	for {
		select {
		case ch <- sz:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// maxPending bounds the bytes queued for one client; past it the queue is
// dropped and the client gets a full repaint once it drains, so a stalled
// client costs bounded memory and never blocks the session.
const maxPending = 1 << 20

// Client is one attachment: a connection viewing a session.
type Client struct {
	conn  Conn
	info  ClientInfo
	since time.Time

	// Guarded by the owning session's mu.
	width, height int
	renderer      *uv.TerminalRenderer
	vw, vh        int // the size the renderer was set up for
	frame         bytes.Buffer
	cursorShown   bool
	started       bool
	screen        uv.ScreenBuffer // the last frame drawn, kept while the session is typed in (screen.go)
	lines         []lineState     // what each row of screen was drawn from
	dirty         []int           // scratch: the rows a frame changes
	zeroLead      bool            // the kept screen has a row starting with a zero-width character

	charset tui.Charset // set at creation: frames are encoded in it
	enc     []byte      // a frame encoded in charset (not UTF8)

	out outbox

	// input reads and decodes the connection; set by the goroutine
	// serving it (the picker's, then the pump's), which alone uses it.
	input *keyReader
}

// keys returns the client's input reader, starting it on first use: the
// session picker and the pump after it read through the same one, so no
// byte typed meanwhile is lost.
func (c *Client) keys(clock Clock, node *nodeInput) *keyReader {
	if c.input == nil {
		c.input = newKeyReader(c.conn, clock)
		c.input.dec.charset = c.charset
		c.input.budget.node = node
	}
	return c.input
}

// stopKeys stops the input reader, if one was started.
func (c *Client) stopKeys() {
	if c.input != nil {
		c.input.close()
	}
}

func newClient(conn Conn, info ClientInfo, now time.Time) *Client {
	sz := ClampSize(Size{info.Width, info.Height}, Size{80, 24})
	c := &Client{conn: conn, info: info, since: now, width: sz.Width, height: sz.Height,
		charset: CharsetFor(info.Term, info.Locale)}
	c.out.init(conn)
	return c
}

// resize records a client's new terminal size, bounded by ClampSize; a
// zero dimension keeps the current one. It returns ClampNotice's line when
// the size asked for was cut. Caller holds the session's mu.
func (c *Client) resize(size Size) (notice string) {
	sz := ClampSize(size, Size{c.width, c.height})
	c.width, c.height = sz.Width, sz.Height
	return ClampNotice(size, sz)
}

// ClampNotice is the status-bar line that tells a user their window was
// cut to fit the bounds (issue 8: "cap window cells … with a clear
// message"), "" when shown is what was asked. ASCII only: every charset
// shows it.
func ClampNotice(asked, shown Size) string {
	if asked.Width <= shown.Width && asked.Height <= shown.Height {
		return ""
	}
	// What is shown comes first: a narrow status bar cuts the end.
	return fmt.Sprintf("showing %dx%d of your %dx%d window: the limit is %d columns, %d rows, %d cells",
		shown.Width, shown.Height, asked.Width, asked.Height, MaxWidth, MaxHeight, MaxCells)
}

// Window bounds (SPEC §7: memory per connection stays within a few MiB
// whatever the client asks for). A client's renderer keeps a copy of its
// screen at about 112 bytes a cell, ≈3.5 MiB at MaxCells, and each frame
// is drawn into a scratch screen of the same size, which above
// maxPooledCells is allocated per frame and left to the GC: a client at
// MaxCells measured ≈5.5 MiB in the attack trial (1000×1000, the old
// per-dimension bound, was 112 MiB for the renderer alone). A larger terminal
// is simply given a smaller screen: the workspace shows in its top-left
// corner, as a shared session does on the larger of two terminals, and
// told so in the status bar (ClampNotice).
const (
	MaxWidth  = 500     // columns
	MaxHeight = 200     // rows
	MaxCells  = 1 << 15 // columns × rows
)

// ClampSize bounds a terminal size: a dimension ≤ 0 takes def's, each is
// capped (MaxWidth, MaxHeight), then rows are cut until the screen holds
// at most MaxCells cells.
func ClampSize(sz, def Size) Size {
	if sz.Width <= 0 {
		sz.Width = def.Width
	}
	if sz.Height <= 0 {
		sz.Height = def.Height
	}
	sz.Width, sz.Height = min(sz.Width, MaxWidth), min(sz.Height, MaxHeight)
	if sz.Width*sz.Height > MaxCells {
		sz.Height = max(MaxCells/sz.Width, 1)
	}
	return sz
}

// resetRenderer starts a fresh renderer: on attach and after the output
// queue overflowed, the client's screen is unknown and is redrawn whole.
func (c *Client) resetRenderer(w, h int) {
	c.frame.Reset()
	r := uv.NewTerminalRenderer(&c.frame, []string{"TERM=" + c.info.Term})
	r.SetColorProfile(profileFor(c.info.Term))
	r.SetFullscreen(true)
	r.SetRelativeCursor(false)
	r.SetScrollOptim(true) // render turns it off for frames where nothing scrolled
	// Transports turn "\n" into CR LF (the SSH pty writer, telnet NVT), so
	// the renderer must know a newline also returns the carriage.
	r.SetMapNewline(true)
	r.Resize(w, h)
	r.Erase()
	c.renderer = r
	c.vw, c.vh = w, h
	c.started = false
	c.releaseScreen()
}

// scratch holds screen buffers for drawing frames. A client keeps only its
// renderer's copy of what its terminal shows; the frame it draws next is
// borrowed, which halves the memory of an attached session. Only buffers
// holding at most maxPooledCells go back to the pool: a pooled buffer
// lives until the second GC after it was put (minutes on an idle node), so
// a bigger frame's buffer is left to the next GC instead.
var scratch sync.Pool

// maxPooledCells bounds a pooled buffer (≈1.3 MiB): 200×60, a big terminal.
const maxPooledCells = 200 * 60

func borrowScreen(w, h int) uv.ScreenBuffer {
	if w*h <= maxPooledCells {
		if b, ok := scratch.Get().(uv.ScreenBuffer); ok {
			if b.Width() != w || b.Height() != h {
				b.Resize(w, h)
			}
			return b
		}
	}
	return uv.NewScreenBuffer(w, h)
}

// returnScreen pools b unless it holds more than maxPooledCells, counting
// the capacity that resizes hid (a shrunk buffer keeps its lines).
func returnScreen(b uv.ScreenBuffer) {
	if cellsHeld(b) <= maxPooledCells {
		scratch.Put(b)
	}
}

func cellsHeld(b uv.ScreenBuffer) int {
	n := 0
	for _, l := range b.Lines[:cap(b.Lines)] {
		n += cap(l)
	}
	return n
}

// CharsetFor picks the characters a client's terminal shows (SPEC §4).
// A terminal type says it first: BBS and PC ANSI types (syncterm, ansi,
// pcansi, ansi-bbs, cterm, scoansi) are CP437, and vt52, vt100, vt102,
// vt220 and dumb are ASCII. Otherwise a locale (see ClientInfo.Locale) that
// names no UTF-8 charset ("C", "POSIX", "en_US.ISO-8859-1") is ASCII; no
// locale, or a UTF-8 one, is UTF-8. Case is ignored (telnet TTYPEs are
// often upper case).
func CharsetFor(term, locale string) tui.Charset {
	term = strings.ToLower(term)
	base, _, _ := strings.Cut(term, "-")
	switch {
	case base == "syncterm" || base == "pcansi" || base == "cterm" || base == "scoansi" ||
		term == "ansi" || term == "ansi-bbs" || strings.HasPrefix(term, "ansi.sys"):
		return tui.CP437
	case term == "vt52" || term == "vt100" || term == "vt102" || term == "vt220" || term == "dumb" ||
		strings.HasPrefix(term, "vt100-") || strings.HasPrefix(term, "vt220-"):
		return tui.ASCII
	}
	l := strings.ToLower(locale)
	if l != "" && !strings.Contains(l, "utf-8") && !strings.Contains(l, "utf8") {
		return tui.ASCII
	}
	return tui.UTF8
}

// LocaleOf returns the effective character locale of an environment
// ("NAME=value" entries): LC_ALL, else LC_CTYPE, else LANG; "" if none.
func LocaleOf(env []string) string {
	vals := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			vals[k] = v
		}
	}
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := vals[k]; v != "" {
			return v
		}
	}
	return ""
}

// profileFor maps a terminal type to the colours it can show.
func profileFor(term string) colorprofile.Profile {
	if term == "" || term == "dumb" {
		return colorprofile.Ascii
	}
	return colorprofile.Env([]string{"TERM=" + term})
}

// draw renders content at w×h into the client's queue; hot: keep the
// frame's screen for the next one (screen.go).
func (c *Client) draw(content string, cur *tui.Cursor, w, h int, hot bool) {
	if frame := c.render(content, cur, w, h, hot); len(frame) > 0 {
		if c.charset != tui.UTF8 {
			// One view for every client of the session: each gets it
			// in its own charset (tui.Charset.Encode keeps cell widths).
			c.enc = c.charset.Encode(c.enc[:0], frame)
			frame = c.enc
			if cap(c.enc) > maxIdleBuffer {
				c.enc = nil
			}
		}
		c.out.push(frame)
	}
	c.frame.Reset()
	if c.frame.Cap() > maxIdleBuffer {
		c.frame = bytes.Buffer{} // the renderer writes through &c.frame
	}
}

// maxIdleBuffer is the most a client's frame and output buffers keep
// between frames; one large repaint's worth is returned to the GC.
const maxIdleBuffer = 64 << 10

// render diffs content at w×h against what the client shows and returns
// the bytes that update it (valid until the next render). hot: the
// session is being typed in, so the screen is kept and the next frame
// draws only the rows that changed (screen.go).
func (c *Client) render(content string, cur *tui.Cursor, w, h int, hot bool) []byte {
	if c.renderer == nil || c.out.takeStale() || c.vw != w || c.vh != h {
		c.resetRenderer(w, h)
	}
	if !c.started {
		// Bracketed paste: a paste arrives marked, as one PasteMsg with
		// its line ends kept (input.go), never as typed keys.
		c.frame.WriteString(ansi.SetModeAltScreenSaveCursor + ansi.SetModeBracketedPaste + ansi.HideCursor + ansi.EraseEntireScreen)
		c.cursorShown = false
		c.started = true
	}
	screen, changed := c.drawScreen(content, w, h)
	// The renderer's scroll optimisation hashes every touched line of both
	// screens; a frame that changed fewer than scrollMinLines rows (typing,
	// a cursor move, a status bar tick) has nothing to scroll.
	c.renderer.SetScrollOptim(changed >= scrollMinLines)
	c.renderer.Render(screen.RenderBuffer)
	c.keepScreen(screen, hot)
	if cur != nil {
		c.renderer.MoveTo(min(cur.X, w-1), min(cur.Y, h-1))
	}
	_ = c.renderer.Flush()
	switch {
	case cur != nil && !c.cursorShown:
		c.frame.WriteString(ansi.ShowCursor)
		c.cursorShown = true
	case cur == nil && c.cursorShown:
		c.frame.WriteString(ansi.HideCursor)
		c.cursorShown = false
	}
	return c.frame.Bytes()
}

// note writes a line of text to a client that has no workspace yet (an
// attach waiting for another node): the first frame's erase removes it.
func (c *Client) note(text string) {
	c.out.push(append(c.charset.Encode(nil, []byte(text)), '\r', '\n'))
}

// farewell leaves the alternate screen and bracketed paste, prints why the client is leaving
// and closes the connection once everything queued is written.
//
// The client is no longer in its session's list, so nothing renders it
// again: its kept screen goes back to the pool here, whoever calls.
func (c *Client) farewell(reason string) {
	c.releaseScreen()
	if f, ok := c.conn.(FarewellConn); ok {
		f.Farewell(reason)
	}
	msg := ansi.ResetStyle + ansi.ShowCursor + ansi.ResetModeBracketedPaste + ansi.ResetModeAltScreenSaveCursor
	if reason != "" {
		msg += string(c.charset.Encode(nil, []byte(reason))) + "\r\n"
	}
	c.out.closeAfter([]byte(msg))
}

// outbox is a client's bounded output queue, drained by one goroutine —
// except the echo of the client's own input, which its pump writes itself
// once the input is applied (inputDone): a key then wakes no goroutine
// between the read and the write (BENCHMARKS "Web terminal").
type outbox struct {
	w       io.WriteCloser
	mu      sync.Mutex
	pending []byte
	spare   []byte // the other buffer, reused by the next write
	stale   bool   // bytes were dropped: the next frame must repaint everything
	closing bool
	holding bool // the pump is applying this client's input: it writes what is queued (inputDone)
	writing bool // a write is in flight (run or inputDone): that writer writes what is queued after it
	failed  bool // a write failed and the connection is closed
	wake    chan struct{}
	done    chan struct{}
	lat     latency // frame latency for the metrics (observer.go)
}

func (o *outbox) init(w io.WriteCloser) {
	o.w = w
	o.wake = make(chan struct{}, 1)
	o.done = make(chan struct{})
	go o.run()
}

func (o *outbox) push(p []byte) {
	o.mu.Lock()
	if o.closing {
		o.mu.Unlock()
		return
	}
	if len(o.pending)+len(p) > maxPending {
		o.pending = o.pending[:0]
		o.stale = true
	} else {
		o.pending = append(o.pending, p...)
	}
	o.lat.queuedFrame()
	hold := o.holding
	o.mu.Unlock()
	if !hold {
		o.signal()
	}
}

func (o *outbox) takeStale() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stale
	o.stale = false
	return s
}

func (o *outbox) closeAfter(p []byte) {
	o.mu.Lock()
	if !o.closing {
		o.pending = append(o.pending, p...)
		o.closing = true
	}
	o.mu.Unlock()
	o.signal()
	// A stalled client must not keep its connection open forever. The
	// timer holds the connection only: a pointer into o would keep the
	// whole Client, its renderer's screen copy included, for 5 s.
	w, done := o.w, o.done
	time.AfterFunc(farewellTimeout, func() {
		select {
		case <-done:
		default:
			w.Close()
		}
	})
}

// farewellTimeout is how long a leaving client may take to read its last bytes.
const farewellTimeout = 5 * time.Second

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run() {
	defer close(o.done)
	for range o.wake {
		if o.write(false) {
			return
		}
	}
}

// write writes what is queued, until nothing is, unless another write is
// in flight (whose writer then writes it). inline: the pump calls it; it
// leaves the last bytes and the close to run. It reports whether the
// outbox is finished: its connection closed, after the farewell or a
// failed write.
func (o *outbox) write(inline bool) (finished bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		switch {
		case o.failed:
			return true
		case o.writing:
			return false
		case inline && o.closing:
			o.signal()
			return false
		case len(o.pending) == 0:
			if o.closing {
				o.w.Close()
				o.failed = true
				return true
			}
			return false
		}
		buf := o.pending
		o.pending, o.spare = o.spare[:0], nil
		mark := o.lat.take()
		o.writing = true
		o.mu.Unlock()
		_, err := o.w.Write(buf)
		if err == nil {
			mark.report()
		} else {
			o.w.Close()
		}
		o.mu.Lock()
		o.writing = false
		if cap(buf) <= maxIdleBuffer {
			o.spare = buf[:0]
		}
		if err != nil {
			o.failed = true
			o.signal() // run ends (done) only once it sees it
		}
	}
}
