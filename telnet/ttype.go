package telnet

import (
	"slices"
	"strings"
)

// maxTTypeRounds caps how often we send TTYPE SEND to one client.
const maxTTypeRounds = 8

// maxTTypeName caps a terminal name (RFC 1010 names have at most 40 chars).
const maxTTypeName = 64

// ttypeCycle walks the client's list of terminal names (RFC 1091): each
// SEND yields the next name; the list has ended when a name repeats.
type ttypeCycle struct {
	names []string
	asked int
	done  bool
}

// askTType sends SEND for the next name, or ends the cycle at the cap.
func (e *Engine) askTType(out *output) {
	if e.tt.done || !e.opts.him[optTType].on() {
		return
	}
	if e.tt.asked >= maxTTypeRounds {
		e.tt.done = true
		return
	}
	e.tt.asked++
	out.reply = append(out.reply, cmdIAC, cmdSB, optTType, sbSEND, cmdIAC, cmdSE)
}

// ttypeReport handles SB TTYPE IS name.
func (e *Engine) ttypeReport(p []byte, out *output) {
	if len(p) == 0 || p[0] != sbIS || e.tt.done {
		return
	}
	name := termName(p[1:])
	if name == "" || slices.Contains(e.tt.names, name) {
		e.tt.done = true
		return
	}
	e.tt.names = append(e.tt.names, name)
	out.events = append(out.events, TerminalType{Name: name})
	e.askTType(out)
}

// termName lowercases a reported name and keeps printable ASCII only.
func termName(p []byte) string {
	var b strings.Builder
	for _, c := range p {
		if c > ' ' && c < 0x7f && b.Len() < maxTTypeName {
			b.WriteByte(c)
		}
	}
	return strings.ToLower(b.String())
}

// TermTypes returns the terminal names received so far, in the client's
// order, lowercased.
func (e *Engine) TermTypes() []string {
	return slices.Clone(e.tt.names)
}

// Term returns the best terminal name received so far, or "" if none.
// Rule: a name containing "256color", "truecolor" or "direct" beats one
// containing "xterm", which beats any other name (ansi, vt100, vtnt, ...),
// which beats "unknown", "dumb" and "network". On a tie the client's
// earlier (preferred) name wins.
func (e *Engine) Term() string {
	best, score := "", -1
	for _, n := range e.tt.names {
		if s := termScore(n); s > score {
			best, score = n, s
		}
	}
	return best
}

func termScore(name string) int {
	switch {
	case strings.Contains(name, "256color"), strings.Contains(name, "truecolor"),
		strings.Contains(name, "direct"):
		return 3
	case strings.Contains(name, "xterm"):
		return 2
	case name == "unknown", name == "dumb", name == "network":
		return 0
	}
	return 1
}
