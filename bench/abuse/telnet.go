package abuse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Telnet protocol bytes (RFC 854, 1073, 1091).
const (
	tIAC   = 255
	tDONT  = 254
	tDO    = 253
	tWONT  = 252
	tWILL  = 251
	tSB    = 250
	tSE    = 240
	tEcho  = 1
	tSGA   = 3
	tTType = 24
	tNAWS  = 31
	tIS    = 0
	tSend  = 1
)

// Telnet is a minimal telnet client that answers the server's negotiation
// at once, as a terminal would: window size 80×24 (or as dialled), terminal
// type xterm-256color, nothing else.
type Telnet struct {
	conn  *stallConn
	out   *stream
	login *Expect // the next login: prompt

	wmu  sync.Mutex // serialises writes from the reader's replies and Send
	w, h int
}

// DialTelnet connects from the loopback IP source and starts answering
// negotiation. header, if any, is sent first (a PROXY header).
func DialTelnet(ctx context.Context, addr, source string, header []byte, w, h int) (*Telnet, error) {
	nc, err := dial(ctx, addr, source, header)
	if err != nil {
		return nil, err
	}
	if w == 0 || h == 0 {
		w, h = 80, 24
	}
	t := &Telnet{conn: nc, out: newStream(), w: w, h: h}
	t.login = t.Expect("login: ")
	go t.read()
	return t, nil
}

// read strips telnet commands from the server's output and answers them.
func (t *Telnet) read() {
	defer t.out.close()
	buf := make([]byte, 32<<10)
	var p parser
	for {
		n, err := t.conn.Read(buf)
		if n > 0 {
			data, reply := p.feed(buf[:n], t.w, t.h)
			if len(reply) > 0 {
				t.write(reply)
			}
			if len(data) > 0 {
				t.out.write(data)
			}
		}
		if err != nil {
			return
		}
	}
}

func (t *Telnet) write(p []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := t.conn.Write(p)
	return err
}

// Send writes user data (an IAC in p is doubled).
func (t *Telnet) Send(p []byte) error {
	q := make([]byte, 0, len(p))
	for _, c := range p {
		q = append(q, c)
		if c == tIAC {
			q = append(q, tIAC)
		}
	}
	return t.write(q)
}

// Expect registers a marker; only output arriving after the call counts.
func (t *Telnet) Expect(marker string) *Expect { return t.out.expect(marker) }

// Wait waits until e's marker arrived or deadline.
func (t *Telnet) Wait(e *Expect, deadline time.Time) (time.Time, error) {
	return t.out.wait(e, deadline)
}

// Closed is closed when the server has closed the connection.
func (t *Telnet) Closed() <-chan struct{} { return t.out.done }

// Close drops the connection.
func (t *Telnet) Close() error { return t.conn.Close() }

// Login answers the login: and Password: prompts and waits for the
// workspace's first frame; it returns the time from start to that frame.
func (t *Telnet) Login(user, password string, start, deadline time.Time) (time.Duration, error) {
	frame, err := t.answer(user, password, FrameMarker, deadline)
	if err != nil {
		return 0, err
	}
	at, err := t.Wait(frame, deadline)
	if err != nil {
		return 0, fmt.Errorf("telnet first frame for %s: %w", user, err)
	}
	return at.Sub(start), nil
}

// Guess tries one password that is expected to be wrong and returns when
// the server has answered it ("Login incorrect"), or ErrThrottled when the
// server refused it unchecked (the account's login rate, issue 8).
func (t *Telnet) Guess(user, password string, deadline time.Time) error {
	refused := t.Expect(throttledText)
	bad, err := t.answer(user, password, "Login incorrect", deadline)
	if err != nil {
		t.out.drop(refused)
		return err
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-bad.hit:
		t.out.drop(refused)
		return nil
	case <-refused.hit:
		t.out.drop(bad)
		return ErrThrottled
	case <-t.out.done:
	case <-timer.C:
		t.out.drop(bad)
		t.out.drop(refused)
		return fmt.Errorf("waiting for the answer to a guess: %w", ErrTimeout)
	}
	select {
	case <-bad.hit:
		return nil
	case <-refused.hit:
		return ErrThrottled
	default:
		return fmt.Errorf("waiting for the answer to a guess: %w", ErrClosed)
	}
}

// ErrThrottled is a guess the server refused without checking it: the
// account has had too many failed logins lately (auth.ErrThrottled).
var ErrThrottled = errors.New("refused unchecked: " + throttledText)

// throttledText is what the server says instead of "Login incorrect" to
// an attempt it refused unchecked.
const throttledText = "try again later"

// answer waits for the pending login: prompt, gives user and password,
// and returns the expectation of after (registered before the password
// goes out) with the next login: prompt registered too.
func (t *Telnet) answer(user, password, after string, deadline time.Time) (*Expect, error) {
	if _, err := t.Wait(t.login, deadline); err != nil {
		return nil, fmt.Errorf("telnet login as %s: %w", user, err)
	}
	pw := t.Expect("Password: ")
	if err := t.Send([]byte(user + "\r\n")); err != nil {
		return nil, err
	}
	if _, err := t.Wait(pw, deadline); err != nil {
		return nil, fmt.Errorf("telnet login as %s: %w", user, err)
	}
	e := t.Expect(after)
	t.login = t.Expect("login: ")
	if err := t.Send([]byte(password + "\r\n")); err != nil {
		return nil, err
	}
	return e, nil
}

// parser is the client side of the telnet command stream.
type parser struct {
	state byte // 0 data, tIAC, tDO..tWILL (awaiting the option), tSB, sbIAC
	sb    []byte
}

const sbIAC = 1 // saw IAC inside a subnegotiation

func (p *parser) feed(in []byte, w, h int) (data, reply []byte) {
	for _, c := range in {
		switch p.state {
		case 0:
			if c == tIAC {
				p.state = tIAC
			} else {
				data = append(data, c)
			}
		case tIAC:
			switch c {
			case tIAC:
				data = append(data, c)
				p.state = 0
			case tDO, tDONT, tWILL, tWONT:
				p.state = c
			case tSB:
				p.state, p.sb = tSB, p.sb[:0]
			default:
				p.state = 0
			}
		case tDO:
			switch c {
			case tNAWS:
				reply = append(reply, tIAC, tWILL, tNAWS, tIAC, tSB, tNAWS,
					byte(w>>8), byte(w), byte(h>>8), byte(h), tIAC, tSE)
			case tTType:
				reply = append(reply, tIAC, tWILL, tTType)
			default:
				reply = append(reply, tIAC, tWONT, c)
			}
			p.state = 0
		case tWILL:
			if c == tEcho || c == tSGA {
				reply = append(reply, tIAC, tDO, c)
			} else {
				reply = append(reply, tIAC, tDONT, c)
			}
			p.state = 0
		case tDONT, tWONT:
			p.state = 0
		case tSB:
			if c == tIAC {
				p.state = sbIAC
			} else if len(p.sb) < 256 {
				p.sb = append(p.sb, c)
			}
		case sbIAC:
			if c == tSE {
				if len(p.sb) >= 2 && p.sb[0] == tTType && p.sb[1] == tSend {
					reply = append(reply, tIAC, tSB, tTType, tIS)
					reply = append(reply, "xterm-256color"...)
					reply = append(reply, tIAC, tSE)
				}
				p.state = 0
			} else {
				p.state = tSB
			}
		}
	}
	return data, reply
}
