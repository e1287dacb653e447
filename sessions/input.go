package sessions

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"termhost/persist"
	"termhost/tui"
)

// EscapeTime is how long an unfinished sequence at the end of a read (a
// lone ESC above all) waits for the rest before it is decoded as it stands,
// a lone ESC then being the Escape key. Slow links, modem bridges and
// telnet gateways deliver ESC and "[D" milliseconds apart (issue 9); tmux's
// escape-time does the same (10 ms by default in tmux 3.5, 500 ms before).
// 50 ms covers split links while an Escape press still feels immediate.
const EscapeTime = 50 * time.Millisecond

// inputDecoder decodes a connection's input across reads: a read may end
// inside an escape sequence or a UTF-8 character (TCP segments and SSH
// packets split anywhere), so an incomplete tail, a lone ESC included,
// waits for the next read. Its owner calls flush once EscapeTime passes
// without one (keyReader). A bracketed paste (ESC[200~ … ESC[201~, enabled
// on attach) becomes one tea.PasteMsg, however many reads it spans.
type inputDecoder struct {
	// charset is the client's (CharsetFor): input from a CP437 or ASCII
	// terminal is made UTF-8 before decoding (toUTF8).
	charset tui.Charset
	pend    []byte // ASCII: an unfinished UTF-8 character ending the last read

	dec     uv.EventDecoder
	tail    []byte
	afterCR bool // the last key was a CR: an LF right after it is the same Enter

	pasting bool   // inside a bracketed paste
	paste   []byte // its raw bytes so far, at most maxPaste
}

// Bracketed paste (xterm's mode 2004) markers.
var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// maxPaste bounds the bytes of one paste a connection buffers: one more
// than a document may hold (tui.MaxDocumentSize), so an oversized paste
// still arrives oversized and Notes refuses it whole. The rest is dropped.
const maxPaste = tui.MaxDocumentSize + 1

// maxTail bounds what may wait for the next read; a longer "sequence" is
// decoded as it is.
const maxTail = 64

func (d *inputDecoder) decode(p []byte) []tea.Msg {
	if d.charset != tui.UTF8 {
		p = d.toUTF8(p)
	}
	if len(p) == 0 {
		return nil
	}
	buf := p
	if len(d.tail) > 0 {
		buf = append(d.tail, p...)
		d.tail = nil
	}
	var out []tea.Msg
	for len(buf) > 0 {
		if d.pasting {
			buf = d.pasted(buf, &out)
			continue
		}
		i := bytes.Index(buf, pasteStart)
		if i < 0 {
			return append(out, d.keys(buf)...)
		}
		out = append(out, d.events(buf[:i])...)
		d.pasting, d.paste = true, []byte{}
		buf = buf[i+len(pasteStart):]
	}
	return out
}

// toUTF8 makes a non-UTF-8 client's input UTF-8 before it is decoded
// (issue 9: a CP437 terminal's "é" is byte 0x82, and 0x9B, its "¢", read
// as an 8-bit CSI ate the keys after it). Bytes below 0x80 (keys, escape
// sequences) pass unchanged. CP437: each byte ≥ 0x80 becomes its CP437
// character (tui.CP437Rune). ASCII: a terminal that is told ASCII often
// sends UTF-8 all the same (TERM=vt100 on a UTF-8 terminal), so valid
// UTF-8 characters other than C1 controls are kept, an unfinished one at
// the end waits for the next read (pend), and every other byte ≥ 0x80
// (8-bit C1 controls, Latin-1, stray bytes) is dropped. p is not changed.
func (d *inputDecoder) toUTF8(p []byte) []byte {
	if len(d.pend) == 0 && !hasHigh(p) {
		return p
	}
	out := make([]byte, 0, len(p)+len(p)/2+len(d.pend))
	if d.charset == tui.CP437 {
		for _, b := range p {
			if b < 0x80 {
				out = append(out, b)
			} else {
				out = utf8.AppendRune(out, tui.CP437Rune(b))
			}
		}
		return out
	}
	if len(d.pend) > 0 {
		p = append(d.pend, p...)
		d.pend = nil
	}
	for i := 0; i < len(p); {
		b := p[i]
		if b < 0x80 {
			out = append(out, b)
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRune(p[i:]) && len(p)-i < utf8.UTFMax {
				d.pend = append([]byte(nil), p[i:]...)
				break
			}
			i++ // not UTF-8: dropped
			continue
		}
		if r > 0x9f {
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	return out
}

func hasHigh(p []byte) bool {
	for _, b := range p {
		if b >= 0x80 {
			return true
		}
	}
	return false
}

// pasted takes paste bytes up to the end marker, appending the finished
// paste to out, and returns what follows it. A possible start of the end
// marker at the end of buf waits in the tail.
func (d *inputDecoder) pasted(buf []byte, out *[]tea.Msg) []byte {
	i := bytes.Index(buf, pasteEnd)
	if i < 0 {
		keep := markerStart(buf, pasteEnd)
		d.addPaste(buf[:len(buf)-keep])
		if keep > 0 {
			d.tail = append([]byte(nil), buf[len(buf)-keep:]...)
		}
		return nil
	}
	d.addPaste(buf[:i])
	*out = append(*out, tea.PasteMsg{Content: pasteText(d.paste)})
	d.pasting, d.paste = false, nil
	return buf[i+len(pasteEnd):]
}

func (d *inputDecoder) addPaste(b []byte) {
	d.paste = append(d.paste, b[:min(len(b), maxPaste-len(d.paste))]...)
}

// markerStart is the length of the longest end of buf that begins marker.
func markerStart(buf, marker []byte) int {
	for k := min(len(buf), len(marker)-1); k > 0; k-- {
		if bytes.HasPrefix(marker, buf[len(buf)-k:]) {
			return k
		}
	}
	return 0
}

// pasteText is a paste's text as the apps take it: every line end (LF, CR,
// CR LF) one "\n", tabs kept, other control characters and invalid UTF-8
// (tui.ControlRune) and invalid UTF-8 dropped, so a paste cannot write
// escape sequences into a document; zero-width joiners and the like stay.
func pasteText(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		r, n := utf8.DecodeRune(raw[i:])
		switch {
		case r == '\r':
			b.WriteByte('\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				n = 2
			}
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError && n <= 1, tui.ControlRune(r):
		default:
			b.Write(raw[i : i+n])
		}
		i += n
	}
	return b.String()
}

// keys decodes key input, holding an unfinished sequence at its end.
func (d *inputDecoder) keys(buf []byte) []tea.Msg {
	cut := incompleteTail(buf)
	// What precedes a held tail may itself be unfinished ("\x1b[" then ESC).
	for cut < len(buf) {
		c := incompleteTail(buf[:cut])
		if c == cut || len(buf)-c > maxTail {
			break
		}
		cut = c
	}
	if cut < len(buf) {
		d.tail = append([]byte(nil), buf[cut:]...)
	}
	return d.events(buf[:cut])
}

// flush decodes a held tail as it stands: nothing more came in time. A
// paste waits for its end marker however long it takes (its size is
// bounded, not its time).
func (d *inputDecoder) flush() []tea.Msg {
	if d.pasting {
		return nil
	}
	tail := d.tail
	d.tail = nil
	return d.events(tail)
}

// keyReader reads one connection and hands its caller (the session
// picker, then the pump) decoded events in order. It reads in the caller's
// goroutine: a key wakes one goroutine on its way to the screen, not two
// (a read goroutine handing reads over a channel cost every echo a wake,
// about 0.3 ms on this machine; BENCHMARKS "Web terminal"). Only while the
// decoder holds an unfinished tail (a lone ESC above all) does the next
// read run on a goroutine of its own, so that the flush EscapeTime later
// (timed by the manager's clock) can win against it. Only the goroutine
// calling next touches the reader, and it calls close after its last next
// (Serve, deferred).
type keyReader struct {
	r      io.Reader
	clock  Clock
	dec    inputDecoder
	budget inputBudget // charged after each read (pace)
	buf    []byte
	last   int // bytes of the last read, not yet paced

	// inflight, when not nil, delivers a read running on its own
	// goroutine into buf: until it does, buf is not ours.
	inflight chan readResult
	expired  chan int // a flush timer fired (its generation)
	done     chan struct{}
	gen      int
	timer    Timer
}

type readResult struct {
	n   int
	at  time.Time
	err error
}

// newKeyReader reads r; close stops it (a Read in progress ends when the
// transport closes the connection).
func newKeyReader(r io.Reader, clock Clock) *keyReader {
	return &keyReader{r: r, clock: clock, buf: make([]byte, 4096),
		expired: make(chan int, 1), done: make(chan struct{})}
}

// pace waits until the connection may read again after n bytes: reading
// slower is the backpressure (SSH's window and TCP's push back on the
// sender), so no key is dropped. It reports false when the reader closes.
func (k *keyReader) pace(n int) bool {
	d := k.budget.take(n, k.clock.Now())
	if d <= 0 {
		return true
	}
	due := make(chan struct{})
	t := k.clock.AfterFunc(d, func() { close(due) })
	select {
	case <-due:
		return true
	case <-k.done:
		t.Stop()
		return false
	}
}

// Input rates (issue 8: 20 connections each pasting 2 MB cost 37 s of
// CPU and a bystander's echo took 3.3 s). One connection reads at most
// InputRate (a 1 MiB paste takes about 3.5 s; 128 KiB lands at once); all
// connections together at most NodeInputRate, except that reads within a
// connection's typing allowance (typingRate, typingBurst: far above what a
// fast typist sends, escape sequences included) never wait for the node,
// so a crowd of pasters slows itself and not a typist.
const (
	InputRate      = 256 << 10 // bytes a second, one connection
	InputBurst     = 128 << 10 // bytes at once, one connection
	NodeInputRate  = 512 << 10 // bytes a second, every connection together
	NodeInputBurst = 512 << 10 // bytes at once, every connection together
	typingRate     = 4 << 10   // bytes a second that never wait for the node
	typingBurst    = 16 << 10
)

// byteBucket is a token bucket in bytes; it may owe at most maxDebt bytes
// (a wait is then at most maxDebt/rate).
type byteBucket struct {
	tokens  float64
	at      time.Time
	started bool
}

// take charges n bytes at now and returns how long until the bucket is
// back at zero (0 while it holds them). A clock that steps back adds
// nothing.
func (b *byteBucket) take(n int, now time.Time, rate, burst, maxDebt float64) time.Duration {
	if !b.started {
		b.tokens, b.at, b.started = burst, now, true
	}
	b.tokens = min(burst, b.tokens+max(now.Sub(b.at), 0).Seconds()*rate)
	b.at = now
	b.tokens = max(b.tokens-float64(n), -maxDebt)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / rate * float64(time.Second))
}

// nodeInput is the node's input budget (NodeInputRate), shared by the key
// readers of every connection; Manager.input holds it.
type nodeInput struct {
	mu sync.Mutex // guards b; a leaf lock
	b  byteBucket
}

func (ni *nodeInput) take(n int, now time.Time) time.Duration {
	ni.mu.Lock()
	defer ni.mu.Unlock()
	return ni.b.take(n, now, NodeInputRate, NodeInputBurst, NodeInputBurst)
}

// inputBudget is one connection's: its own bucket, its typing allowance
// and the node's bucket (nil: none), judged by the manager's clock so
// tests are exact. Only the connection's read goroutine uses it.
type inputBudget struct {
	conn, typing byteBucket
	node         *nodeInput
}

// take charges n bytes read at now to every bucket and returns how long to
// wait before the next read: the connection's own wait, and the node's
// unless the read was within the typing allowance.
func (b *inputBudget) take(n int, now time.Time) time.Duration {
	d := b.conn.take(n, now, InputRate, InputBurst, math.Inf(1))
	typing := b.typing.take(n, now, typingRate, typingBurst, typingBurst) == 0
	if b.node != nil {
		if nd := b.node.take(n, now); !typing {
			d = max(d, nd)
		}
	}
	return d
}

// errReaderClosed is next's error once close was called.
var errReaderClosed = errors.New("sessions: key reader closed")

// next waits for input and returns its events (never empty unless err is
// set) and when it was read; err is the connection's read error (the
// events before it are still returned).
func (k *keyReader) next() ([]tea.Msg, time.Time, error) {
	for {
		if k.inflight == nil && len(k.dec.tail) == 0 {
			// The common case: read here, in the caller's goroutine.
			if !k.pace(k.last) {
				return nil, time.Time{}, errReaderClosed
			}
			n, err := k.r.Read(k.buf)
			k.last = n
			at := time.Now()
			events := k.dec.decode(k.buf[:n])
			if err != nil || len(events) > 0 {
				return events, at, err
			}
			continue
		}
		if k.inflight == nil {
			// A tail waits for the rest of its sequence: read on a
			// goroutine while the flush timer runs.
			if !k.pace(k.last) {
				return nil, time.Time{}, errReaderClosed
			}
			k.last = 0
			ch, r, buf := make(chan readResult, 1), k.r, k.buf
			k.inflight = ch
			go func() {
				n, err := r.Read(buf)
				ch <- readResult{n: n, at: time.Now(), err: err}
			}()
			k.arm()
		}
		select {
		case r := <-k.inflight:
			k.inflight = nil
			k.disarm()
			k.last = r.n
			events := k.dec.decode(k.buf[:r.n])
			if r.err != nil || len(events) > 0 {
				return events, r.at, r.err
			}
		case g := <-k.expired:
			if g != k.gen {
				continue
			}
			if events := k.dec.flush(); len(events) > 0 {
				return events, time.Now(), nil
			}
		case <-k.done:
			return nil, time.Time{}, errReaderClosed
		}
	}
}

// arm starts the flush timer for the tail the decoder holds.
func (k *keyReader) arm() {
	k.disarm()
	g, ch := k.gen, k.expired
	k.timer = k.clock.AfterFunc(EscapeTime, func() {
		for { // the newest generation wins, as in OfferSize
			select {
			case ch <- g:
				return
			default:
			}
			select {
			case <-ch:
			default:
			}
		}
	})
}

// disarm stops the flush timer; a firing already sent is ignored by its
// generation.
func (k *keyReader) disarm() {
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
	k.gen++
}

// close stops the flush timer; a read still running on its goroutine ends
// when the transport closes the connection. Serve calls it once, after
// the last next.
func (k *keyReader) close() {
	if t := k.timer; t != nil {
		t.Stop()
	}
	close(k.done)
}

// incompleteTail returns where an unfinished sequence at the end of buf
// starts, or len(buf).
func incompleteTail(buf []byte) int {
	n := len(buf)
	if i := bytes.LastIndexByte(buf, 0x1b); i >= 0 && n-i <= maxTail {
		held := false
		switch {
		case i == n-1:
			held = true
		case buf[i+1] == '[':
			j := i + 2
			for j < n && buf[j] >= 0x20 && buf[j] <= 0x3f {
				// rxvt's shifted keys end in '$' ("\x1b[2$"), a byte
				// that would otherwise start a longer sequence.
				if buf[j] == '$' && j > i+2 && digits(buf[i+2:j]) {
					break
				}
				j++
			}
			switch {
			case j == n:
				held = true
			case j == i+2 && buf[j] == 'M':
				// X10 mouse reports carry three raw bytes after "\x1b[M".
				held = n-j-1 < 3
			case j == i+2 && buf[j] == '[':
				held = j == n-1 // the Linux console's F1–F5: "\x1b[[A"
			}
		case buf[i+1] == 'O': // SS3, with optional modifier digits
			j := i + 2
			for j < n && buf[j] >= '0' && buf[j] <= '9' {
				j++
			}
			held = j == n
		case buf[i+1] == ']':
			// An OSC string (a terminal's reply) runs to BEL or ST; ST
			// starts with ESC, so none follows this, the last ESC.
			held = bytes.IndexByte(buf[i+2:], 0x07) < 0
		case bytes.IndexByte([]byte("P_^X"), buf[i+1]) >= 0:
			held = true // DCS, APC, PM, SOS run to ST only
		}
		if held {
			if i > 0 && buf[i-1] == 0x1b && n-i < maxTail {
				i-- // an ESC before it makes it alt+…: keep them together
			}
			return i
		}
	}
	k := n - 1
	for k > 0 && n-k < utf8.UTFMax && buf[k]&0xc0 == 0x80 {
		k--
	}
	if k >= 0 && buf[k] >= 0xc0 && !utf8.FullRune(buf[k:]) {
		return k
	}
	return n
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// events turns raw terminal input into messages for the workspace.
func (d *inputDecoder) events(buf []byte) []tea.Msg {
	var out []tea.Msg
	for len(buf) > 0 {
		n, ev := d.translate(buf)
		if n == 0 {
			n, ev = safeDecode(&d.dec, buf)
		}
		if n <= 0 {
			break
		}
		d.afterCR = n == 1 && buf[0] == '\r'
		buf = buf[n:]
		out = appendEvent(out, ev)
	}
	return out
}

// linuxF are the Linux console's F1–F5 ("\x1b[[A" … "\x1b[[E", also
// PuTTY's "Linux" function-key mode), which ultraviolet reads as letters.
var linuxF = [...]rune{uv.KeyF1, uv.KeyF2, uv.KeyF3, uv.KeyF4, uv.KeyF5}

// translate decodes the key forms of common terminals that ultraviolet's
// decoder lacks; n is 0 when buf starts with none of them. A bare LF is
// Enter (terminals and links whose Enter sends LF), except right after a
// CR: CR LF is one Enter.
func (d *inputDecoder) translate(buf []byte) (n int, ev uv.Event) {
	if buf[0] == '\n' {
		if d.afterCR {
			return 1, nil
		}
		return 1, uv.KeyPressEvent{Code: uv.KeyEnter}
	}
	if len(buf) < 4 || buf[0] != 0x1b || buf[1] != '[' {
		return 0, nil
	}
	if buf[2] == '[' && buf[3] >= 'A' && buf[3] <= 'E' {
		return 4, uv.KeyPressEvent{Code: linuxF[buf[3]-'A']}
	}
	// rxvt's shifted keys: "\x1b[2$" is shift+"\x1b[2~". ultraviolet knows
	// the form only at the end of its input: followed by a letter it reads
	// one longer sequence and the letter is lost.
	j := 2
	for j < len(buf) && buf[j] >= '0' && buf[j] <= '9' {
		j++
	}
	if j > 2 && j < len(buf) && buf[j] == '$' {
		seq := append(append(make([]byte, 0, j+1), buf[:j]...), '~')
		if _, ev := safeDecode(&d.dec, seq); ev != nil {
			if k, ok := ev.(uv.KeyPressEvent); ok {
				k.Mod |= uv.ModShift
				return j + 1, k
			}
		}
	}
	return 0, nil
}

// safeDecode decodes one event; a decoder panic on hostile input (found by
// FuzzInputDecoder: "\x9bM000" panics in ultraviolet's X10 mouse parser)
// drops one byte instead of taking the server down.
func safeDecode(dec *uv.EventDecoder, buf []byte) (n int, ev uv.Event) {
	defer func() {
		if recover() != nil {
			n, ev = 1, nil
		}
	}()
	return dec.Decode(buf)
}

func appendEvent(out []tea.Msg, ev uv.Event) []tea.Msg {
	switch e := ev.(type) {
	case uv.KeyPressEvent:
		out = append(out, tea.KeyPressMsg(e))
	case uv.PasteEvent:
		out = append(out, tea.PasteMsg(e))
	case uv.MultiEvent:
		for _, x := range e {
			out = appendEvent(out, x)
		}
	}
	return out
}

func isConflict(err error) bool { return errors.Is(err, persist.ErrConflict) }
