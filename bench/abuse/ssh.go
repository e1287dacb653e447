package abuse

import (
	"context"
	"fmt"
	"io"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// FrameMarker is the text that completes termhost's first frame: the
// right end of the status bar, drawn last (as in package bench).
const FrameMarker = "ctrl+b ? help"

// SSH dials termhost's SSH listener the way golang.org/x/crypto/ssh
// clients do, from a chosen loopback source address.
type SSH struct {
	Addr   string // the listener, host:port in 127.0.0.0/8
	Source string // local IP to dial from, e.g. "127.0.0.9"; "" lets the kernel choose
	Header []byte // written before the SSH banner (a PROXY header), if any
	// Timeout bounds the handshake and the session requests; 0 means 10 s.
	Timeout time.Duration
}

// TermOptions is what an interactive session asks for.
type TermOptions struct {
	Width, Height int    // the pty-req size in cells; 0 means 80×24
	Command       string // "" asks for a shell; otherwise exec
	// Marker completes the first frame; "" means the first byte of output.
	Marker string
}

// Term is one SSH session with a pty. A reader goroutine consumes its
// output as it arrives (unless the connection is stalled), counting bytes
// and completing awaited markers.
type Term struct {
	User string
	// FirstFrame runs from the start of the dial to the arrival of the
	// first frame's marker.
	FirstFrame time.Duration

	conn   *stallConn
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
	out    *stream
	exit   chan error // the session's Wait result
}

func (d SSH) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 10 * time.Second
}

// handshake connects and authenticates; the returned connection is the
// raw one (for Stall).
func (d SSH) handshake(ctx context.Context, user string, auth ...gossh.AuthMethod) (*gossh.Client, *stallConn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	nc, err := dial(ctx, d.Addr, d.Source, d.Header)
	if err != nil {
		return nil, nil, err
	}
	// x/crypto does not time out key exchange or auth on its own.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	cfg := &gossh.ClientConfig{User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		HostKeyAlgorithms: []string{gossh.KeyAlgoED25519}}
	c, chans, reqs, err := gossh.NewClientConn(nc, d.Addr, cfg)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("ssh handshake as %s from %s: %w", user, d.Source, err)
	}
	return gossh.NewClient(c, chans, reqs), nc, nil
}

// Open logs in as user with signer, asks for a pty and a shell (or
// o.Command) and waits for the first frame.
func (d SSH) Open(ctx context.Context, user string, signer gossh.Signer, o TermOptions) (*Term, error) {
	start := time.Now()
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 80, 24
	}
	client, nc, err := d.handshake(ctx, user, gossh.PublicKeys(signer))
	if err != nil {
		return nil, err
	}
	t := &Term{User: user, conn: nc, client: client, out: newStream(), exit: make(chan error, 1)}
	first := t.out.expect(o.Marker)
	ctx, cancel := context.WithDeadline(ctx, start.Add(d.timeout()))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	err = t.start(o)
	if !stop() {
		err = fmt.Errorf("session for %s: %w", user, ctx.Err())
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	at, err := t.out.wait(first, start.Add(d.timeout()))
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("first frame for %s from %s: %w", user, d.Source, err)
	}
	t.FirstFrame = at.Sub(start)
	return t, nil
}

func (t *Term) start(o TermOptions) error {
	sess, err := t.client.NewSession()
	if err != nil {
		return err
	}
	t.sess = sess
	modes := gossh.TerminalModes{gossh.ECHO: 1, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("xterm-256color", o.Height, o.Width, modes); err != nil {
		return fmt.Errorf("pty-req %dx%d: %w", o.Width, o.Height, err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	sess.Stderr = streamWriter{t.out}
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
	go func() {
		_, _ = io.Copy(streamWriter{t.out}, stdout)
		t.exit <- sess.Wait()
		t.out.close()
	}()
	return nil
}

type streamWriter struct{ s *stream }

func (w streamWriter) Write(p []byte) (int, error) {
	w.s.write(p)
	return len(p), nil
}

// Expect registers a marker to wait for; only output that arrives after
// the call completes it. Register before sending what causes it.
func (t *Term) Expect(marker string) *Expect { return t.out.expect(marker) }

// Wait waits until e's marker arrived or deadline.
func (t *Term) Wait(e *Expect, deadline time.Time) (time.Time, error) { return t.out.wait(e, deadline) }

// Send writes p to the session's input.
func (t *Term) Send(p []byte) error {
	_, err := t.stdin.Write(p)
	return err
}

// Resize sends a window-change request.
func (t *Term) Resize(w, h int) error { return t.sess.WindowChange(h, w) }

// Received is the number of output bytes that arrived.
func (t *Term) Received() int64 { return t.out.received() }

// Stall stops reading the connection: the server's output for this client
// backs up in the kernel's socket buffers and then in the server.
func (t *Term) Stall() { t.conn.Stall() }

// Exited returns the session's end (nil for exit status 0, an
// *ssh.ExitError otherwise) once the server has closed it.
func (t *Term) Exited() <-chan error { return t.exit }

// Close drops the connection (for termhost a disconnect, which detaches).
func (t *Term) Close() error {
	err := t.client.Close()
	t.conn.Close()
	return err
}
