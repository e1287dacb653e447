package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// Errors the terminal client returns.
var (
	ErrTimeout = errors.New("timed out")
	ErrClosed  = errors.New("connection closed")
)

// Dialer opens SSH sessions with a pty, as a person's terminal would.
type Dialer struct {
	Addr    string
	Signer  gossh.Signer
	Term    string // TERM sent in pty-req; default xterm-256color
	Width   int    // default 80
	Height  int    // default 24
	Command string // "" asks for a shell
	// HostKeyAlgorithms is the client's preference. Empty means ssh-ed25519
	// first, as OpenSSH orders it: x/crypto's default puts RSA first,
	// which makes the server sign every handshake with its RSA key.
	HostKeyAlgorithms []string
	Timeout           time.Duration // per connect; default 10 s
	// Screen attaches a VT emulator to every Term (slower, for reading
	// text back; byte-stream markers work without it).
	Screen bool
}

// ConnectTiming splits one connect into its steps, each measured from the
// start of the dial.
type ConnectTiming struct {
	TCP   time.Duration // TCP connected
	Auth  time.Duration // key exchange and authentication done
	Shell time.Duration // channel, pty-req and shell accepted
	Frame time.Duration // first complete frame seen (set by WaitFrame)
}

type chunk struct {
	at   time.Time
	data []byte
}

// Term is one SSH session with a pty. Its methods are for one goroutine;
// a reader goroutine timestamps output as it arrives.
type Term struct {
	User   string
	Timing ConnectTiming
	// Screen is the VT emulator fed with everything consumed (nil unless
	// Dialer.Screen).
	Screen *vt.Emulator

	client   *gossh.Client
	sess     *gossh.Session
	stdin    io.Writer
	chunks   chan chunk
	done     chan struct{} // closed when the reader stops
	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	received atomic.Int64
	start    time.Time
}

func (d *Dialer) defaults() Dialer {
	x := *d
	if x.Term == "" {
		x.Term = "xterm-256color"
	}
	if x.Width == 0 {
		x.Width = 80
	}
	if x.Height == 0 {
		x.Height = 24
	}
	if x.Timeout == 0 {
		x.Timeout = 10 * time.Second
	}
	if len(x.HostKeyAlgorithms) == 0 {
		x.HostKeyAlgorithms = []string{gossh.KeyAlgoED25519, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSASHA512}
	}
	return x
}

// Dial connects as user, authenticates with the signer, asks for a pty
// and a shell (or Command), and starts timestamping output.
func (d *Dialer) Dial(ctx context.Context, user string) (*Term, error) {
	o := d.defaults()
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(o.Timeout))
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", o.Addr, err)
	}
	t := &Term{User: user, start: start, chunks: make(chan chunk, 16), done: make(chan struct{}), stop: make(chan struct{})}
	t.Timing.TCP = time.Since(start)
	// The deadline bounds the handshake; a context watcher bounds the
	// channel requests, which x/crypto does not time out on its own.
	_ = nc.SetDeadline(start.Add(o.Timeout))
	stopWatch := context.AfterFunc(ctx, func() { nc.Close() })
	defer stopWatch()
	cfg := &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(o.Signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), HostKeyAlgorithms: o.HostKeyAlgorithms}
	c, chans, reqs, err := gossh.NewClientConn(nc, o.Addr, cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ssh handshake as %s: %w", user, err)
	}
	t.client = gossh.NewClient(c, chans, reqs)
	t.Timing.Auth = time.Since(start)
	if err := t.open(o); err != nil {
		t.client.Close()
		return nil, fmt.Errorf("session for %s: %w", user, err)
	}
	_ = nc.SetDeadline(time.Time{})
	t.Timing.Shell = time.Since(start)
	return t, nil
}

func (t *Term) open(o Dialer) error {
	sess, err := t.client.NewSession()
	if err != nil {
		return err
	}
	t.sess = sess
	modes := gossh.TerminalModes{gossh.ECHO: 1, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty(o.Term, o.Height, o.Width, modes); err != nil {
		return fmt.Errorf("pty-req: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if t.stdin, err = sess.StdinPipe(); err != nil {
		return err
	}
	if o.Command == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(o.Command)
	}
	if err != nil {
		return err
	}
	if o.Screen {
		t.Screen = vt.NewEmulator(o.Width, o.Height)
		// The emulator answers terminal queries on a pipe that blocks
		// until read; drain it so feeding it never stalls.
		go func(em *vt.Emulator) { _, _ = io.Copy(io.Discard, em) }(t.Screen)
	}
	go t.read(stdout)
	return nil
}

// read timestamps output chunks. It stops at EOF or Close.
func (t *Term) read(r io.Reader) {
	defer close(t.done)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			t.received.Add(int64(n))
			c := chunk{at: time.Now(), data: bytes.Clone(buf[:n])}
			select {
			case t.chunks <- c:
			case <-t.stop:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Received is the number of bytes that arrived on the channel so far.
func (t *Term) Received() int64 { return t.received.Load() }

// next returns the next output chunk, waiting until deadline.
func (t *Term) next(deadline time.Time) (chunk, error) {
	select {
	case c := <-t.chunks:
		return t.feed(c), nil
	default:
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case c := <-t.chunks:
		return t.feed(c), nil
	case <-t.done:
		select {
		case c := <-t.chunks:
			return t.feed(c), nil
		default:
			return chunk{}, ErrClosed
		}
	case <-timer.C:
		return chunk{}, ErrTimeout
	}
}

func (t *Term) feed(c chunk) chunk {
	if t.Screen != nil {
		_, _ = t.Screen.Write(c.data)
	}
	return c
}

// Drain consumes whatever output is already queued, without waiting.
func (t *Term) Drain() int {
	n := 0
	for {
		select {
		case c := <-t.chunks:
			n += len(t.feed(c).data)
		default:
			return n
		}
	}
}

// WaitFor consumes output until marker has arrived and returns when the
// chunk completing it arrived.
func (t *Term) WaitFor(marker string, deadline time.Time) (time.Time, error) {
	m := NewMatcher(marker)
	for {
		c, err := t.next(deadline)
		if err != nil {
			return time.Time{}, fmt.Errorf("waiting for %q as %s: %w", marker, t.User, err)
		}
		if m.Feed(c.data) {
			return c.at, nil
		}
	}
}

// WaitFrame waits for marker (the status bar) and records the first-frame
// time in Timing.Frame.
func (t *Term) WaitFrame(marker string, deadline time.Time) error {
	at, err := t.WaitFor(marker, deadline)
	if err != nil {
		return err
	}
	t.Timing.Frame = at.Sub(t.start)
	return nil
}

// Send writes p to the session's input and returns when it was written.
func (t *Term) Send(p []byte) (time.Time, error) {
	now := time.Now()
	_, err := t.stdin.Write(p)
	return now, err
}

// KeyEcho is one key sent and its echo.
type KeyEcho struct {
	Sent    time.Time     // zero when the key could not be sent
	Latency time.Duration // send → the echo's arrival
	Bytes   int           // received from the send up to and including the echo
}

// Key sends one key and waits for its echo: the first output chunk that
// holds want, or any output when want is 0. Output queued before the send
// is consumed first and not counted.
func (t *Term) Key(p []byte, want byte, deadline time.Time) (KeyEcho, error) {
	t.Drain()
	sent, err := t.Send(p)
	if err != nil {
		return KeyEcho{}, fmt.Errorf("send as %s: %w", t.User, err)
	}
	k := KeyEcho{Sent: sent}
	for {
		c, err := t.next(deadline)
		if err != nil {
			return k, fmt.Errorf("echo of %q as %s: %w", p, t.User, err)
		}
		k.Bytes += len(c.data)
		if want == 0 || bytes.IndexByte(c.data, want) >= 0 {
			k.Latency = c.at.Sub(sent)
			return k, nil
		}
	}
}

// Detach sends ctrl+b d and waits for the server to say so and close.
func (t *Term) Detach(deadline time.Time) error {
	if _, err := t.Send([]byte{0x02, 'd'}); err != nil {
		return err
	}
	if _, err := t.WaitFor("[detached from session", deadline); err != nil {
		return err
	}
	return t.WaitClosed(deadline)
}

// WaitClosed consumes output until the server closes the channel.
func (t *Term) WaitClosed(deadline time.Time) error {
	for {
		if _, err := t.next(deadline); errors.Is(err, ErrClosed) {
			return nil
		} else if err != nil {
			return fmt.Errorf("waiting for %s's channel to close: %w", t.User, err)
		}
	}
}

// Close drops the connection (for termhost: a disconnect, which detaches).
func (t *Term) Close() error {
	t.stopOnce.Do(func() { close(t.stop) })
	err := t.client.Close()
	if t.Screen != nil {
		// Emulator.Close sets a flag its Read checks without a lock (a
		// race with the drain goroutine); closing the pipe ends it safely.
		if pw, ok := t.Screen.InputPipe().(*io.PipeWriter); ok {
			pw.Close()
		}
	}
	return err
}

// Matcher finds a marker in a byte stream that arrives in pieces.
type Matcher struct {
	marker []byte
	tail   []byte // the last len(marker)-1 bytes seen
}

// NewMatcher returns a matcher for marker.
func NewMatcher(marker string) *Matcher { return &Matcher{marker: []byte(marker)} }

// Feed reports whether the marker is complete once p has arrived. After a
// match it starts over.
func (m *Matcher) Feed(p []byte) bool {
	if len(m.marker) == 0 {
		return true
	}
	buf := append(m.tail, p...)
	if bytes.Contains(buf, m.marker) {
		m.tail = m.tail[:0]
		return true
	}
	keep := min(len(buf), len(m.marker)-1)
	m.tail = append(m.tail[:0], buf[len(buf)-keep:]...)
	return false
}
