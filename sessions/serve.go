package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// Serve runs one interactive connection for u: no args attaches (one
// session), picks (several) or creates (none); "attach [NAME|ID]
// [--shared]" and "new [NAME]" do as they say. It returns when the client
// leaves; the caller then closes the transport.
func (m *Manager) Serve(ctx context.Context, conn Conn, info ClientInfo, u User, args []string) error {
	verb, rest := "", []string(nil)
	if len(args) > 0 {
		verb, rest = args[0], args[1:]
	}
	if verb == "attach" || verb == "a" {
		if target, shared, err := attachArgs(rest); err == nil && shared {
			if node, id := m.sharedElsewhere(ctx, u, target); node != "" {
				m.log.Info("forwarding a shared attach", "session", id, "owner", node, "user", u.Name, "remote", info.Remote)
				return m.forward.Forward(ctx, node, conn, info, u, id)
			}
		}
	}
	var s *Session
	var shared bool
	var err error
	c := newClient(conn, info, m.clock.Now())
	clamped := ClampNotice(Size{info.Width, info.Height}, Size{c.width, c.height}) // before any resize can run
	c.out.watch(m.obs, time.Now())
	defer c.stopKeys()
	switch verb {
	case "":
		s, err = m.defaultSession(ctx, c, u)
	case "attach", "a":
		var target string
		if target, shared, err = attachArgs(rest); err != nil {
			break
		}
		s, err = m.attachTarget(ctx, c, u, target)
	case "new":
		var name string
		if name, err = newArgs(rest); err != nil {
			break
		}
		s, err = m.Create(ctx, u, name)
	default:
		err = fmt.Errorf("unknown command %q (try: help)", verb)
	}
	if err == nil && s != nil {
		err = s.attach(c, shared)
	}
	// Said after the first frame, in the status bar: the new account, and
	// a window larger than the bounds (ClampNotice).
	if notice := joinNotices(info.Notice, clamped); err == nil && s != nil && notice != "" {
		s.message(notice)
	}
	if err != nil || s == nil {
		msg := ""
		if err != nil {
			msg = "error: " + err.Error()
			if e, ok := conn.(ExitConn); ok {
				code := 1 // `ssh -t host attach nosuch` fails in a script
				if errors.Is(err, ErrUsage) {
					code = 2
				}
				e.SetExit(code)
			}
		}
		c.farewell(msg)
		<-c.out.done
		return err
	}
	log := m.log.With("transport", info.Transport, "remote", info.Remote, "user", u.Name, "session", s.ID())
	log.Info("attached", "shared", shared)
	m.pump(s, c)
	log.Info("connection ended")
	return nil
}

// ExitConn is a Conn whose protocol carries an exit status (SSH). Serve
// sets 1 before it closes the connection over an error (no such session,
// a name in use), so the client's command fails; the status is 0
// otherwise.
type ExitConn interface {
	Conn
	SetExit(code int)
}

func (m *Manager) attachTarget(ctx context.Context, c *Client, u User, ref string) (*Session, error) {
	if ref == "" {
		return m.defaultSession(ctx, c, u)
	}
	rec, err := m.Find(ctx, u.Name, ref)
	if err != nil {
		return nil, err
	}
	return m.wake(ctx, rec.ID, u, c.info.Remote, c.note)
}

// defaultSession attaches the only session, asks when there are several,
// and creates one when there are none.
func (m *Manager) defaultSession(ctx context.Context, c *Client, u User) (*Session, error) {
	recs, err := m.store.ListSessions(ctx, persist.SessionFilter{Owner: u.Name})
	if err != nil {
		return nil, err
	}
	switch len(recs) {
	case 0:
		return m.Create(ctx, u, "")
	case 1:
		return m.wake(ctx, recs[0].ID, u, c.info.Remote, c.note)
	}
	id, err := m.pick(ctx, c, u)
	if err != nil || id == "" {
		return nil, err
	}
	if id == "new" {
		return m.Create(ctx, u, "")
	}
	return m.wake(ctx, id, u, c.info.Remote, c.note)
}

// pick shows the session picker and returns a session id, "new", or "".
func (m *Manager) pick(ctx context.Context, c *Client, u User) (string, error) {
	infos, err := m.List(ctx, u.Name, "")
	if err != nil {
		return "", err
	}
	p := &tui.Picker{User: u.Name}
	now := m.clock.Now()
	for _, in := range infos {
		var apps []string
		for _, a := range in.Apps {
			apps = append(apps, a.App)
		}
		p.Items = append(p.Items, tui.PickItem{ID: in.ID, Name: in.Name, State: in.State,
			LastActive: ago(now.Sub(in.LastInputAt)), Apps: strings.Join(apps, ",")})
	}
	draw := func() { c.draw(p.View(c.width, c.height), nil, c.width, c.height, false) }
	draw()
	keys := c.keys(m.clock, &m.input)
	for {
		events, _, err := keys.next()
		for _, ev := range events {
			switch p.Update(ev) {
			case tui.PickChosen:
				return p.Selected().ID, nil
			case tui.PickNew:
				return "new", nil
			case tui.PickQuit:
				return "", nil
			}
		}
		draw()
		if err != nil {
			return "", nil
		}
	}
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// ResizeEvery is the least time between two redraws for a client's new
// window sizes (pump): 20 a second follow a window being dragged.
const ResizeEvery = 50 * time.Millisecond

// pump feeds a client's input and resizes to its session until the
// connection ends, then detaches the client.
func (m *Manager) pump(s *Session, c *Client) {
	done := make(chan struct{})
	defer close(done)
	if c.info.Resizes != nil {
		go func() {
			var last time.Time
			for {
				select {
				case <-done:
					return
				case size, ok := <-c.info.Resizes:
					if !ok {
						return
					}
					// At most one redraw for a new size every ResizeEvery:
					// the channel keeps the latest size, so a window being
					// dragged or a flood (attack trial: 300,000 resize frames
					// in 20 s put a bystander's echo at 18-33 ms) costs that
					// many redraws and no more. Wall clock: it paces CPU.
					if wait := ResizeEvery - time.Since(last); wait > 0 {
						t := time.NewTimer(wait)
						select {
						case <-done:
							t.Stop()
							return
						case <-t.C:
						}
						select {
						case size = <-c.info.Resizes: // a later one came meanwhile
						default:
						}
					}
					last = time.Now()
					s.resize(c, size)
				}
			}
		}()
	}
	keys := c.keys(m.clock, &m.input)
	for {
		events, read, err := keys.next()
		if len(events) > 0 {
			c.out.inputRead(read)
			s.input(c, events)
			c.out.inputDone()
		}
		if err != nil {
			break
		}
	}
	s.detachClient(c, "", s.rec.Owner, c.info.Remote, "disconnect")
	<-c.out.done
}

// joinNotices joins the non-empty status-bar notices with " · ".
func joinNotices(notices ...string) string {
	var out []string
	for _, n := range notices {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, " · ")
}
