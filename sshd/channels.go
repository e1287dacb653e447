package sshd

import (
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Bounds on a session channel's env requests (SPEC §7). charm.land/ssh
// keeps every "env" it is sent (one connection stored 1.4 GB); a client
// needs a handful (LANG, LC_*, TERM-like names), so beyond these the
// request is answered false and nothing is kept.
const (
	MaxEnv      = 64       // variables per session channel
	MaxEnvVar   = 4 << 10  // bytes of one name plus its value
	MaxEnvTotal = 32 << 10 // bytes of all names and values of a channel
)

// sessionChannel is the "session" channel handler: it refuses a channel
// over the connection's MaxChannels (or on a connection refused by a cap,
// with that reason), and hands charm's DefaultSessionHandler a channel
// whose env requests are bounded. It returns when the channel's requests
// end (the channel closed), which frees its slot.
func (s *Server) sessionChannel(srv *ssh.Server, sc *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	c := connOf(ctx)
	if c == nil { // not admitted through admit: cannot happen; refuse rather than serve unbounded
		_ = nc.Reject(gossh.ResourceShortage, "connection not admitted")
		return
	}
	if err := c.openChannel(); err != nil {
		_ = nc.Reject(gossh.ResourceShortage, err.Error())
		return
	}
	defer c.closeChannel()
	ssh.DefaultSessionHandler(srv, sc, envBounded{nc}, ctx)
}

// envBounded is a NewChannel whose accepted channel's "env" requests pass
// through an envBudget; every other request goes on unchanged, in order.
type envBounded struct{ gossh.NewChannel }

func (e envBounded) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, in, err := e.NewChannel.Accept()
	if err != nil {
		return ch, in, err
	}
	out := make(chan *gossh.Request)
	go func() { // ends when in closes (the channel closed); charm reads out until then
		defer close(out)
		var b envBudget
		for req := range in {
			if req.Type == "env" && !b.admit(req.Payload) {
				_ = req.Reply(false, nil)
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// envBudget counts what one channel's env requests have stored.
type envBudget struct{ count, bytes int }

// admit reports whether an env request's payload (string name, string
// value: RFC 4254 §6.4) fits the bounds, and counts it if so. A payload
// that does not parse is refused.
func (b *envBudget) admit(payload []byte) bool {
	var kv struct{ Key, Value string }
	if gossh.Unmarshal(payload, &kv) != nil {
		return false
	}
	n := len(kv.Key) + len(kv.Value)
	if b.count >= MaxEnv || n > MaxEnvVar || b.bytes+n > MaxEnvTotal {
		return false
	}
	b.count++
	b.bytes += n
	return true
}
