package telnet

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// ttypeIS builds SB TTYPE IS name SE.
func ttypeIS(name string) []byte {
	return cat(unhex("ff fa 18 00"), []byte(name), unhex("ff f0"))
}

// cycle plays a client that answers each TTYPE SEND with the next name of
// list (repeating the last one at the end, as RFC 1091 asks) or with
// next(round) when list is nil. It returns how many SENDs it saw.
func cycle(e *Engine, list []string, next func(int) string) int {
	reply := feed(e, unhex("ff fb 18")).reply
	sends := 0
	for bytes.Contains(reply, ttypeSend) && sends < 100 {
		name := ""
		if next != nil {
			name = next(sends)
		} else {
			name = list[min(sends, len(list)-1)]
		}
		sends++
		reply = feed(e, ttypeIS(name)).reply
	}
	return sends
}

func TestTTypeCycle(t *testing.T) {
	tests := []struct {
		name      string
		list      []string
		next      func(int) string
		wantSends int
		wantNames []string
		wantTerm  string
	}{
		{"single name", []string{"XTERM-256COLOR"}, nil, 2, []string{"xterm-256color"}, "xterm-256color"},
		{"windows telnet", []string{"ANSI", "VT100", "VT52", "VTNT"}, nil, 5,
			[]string{"ansi", "vt100", "vt52", "vtnt"}, "ansi"},
		{"256color beats xterm", []string{"xterm", "xterm-256color"}, nil, 3,
			[]string{"xterm", "xterm-256color"}, "xterm-256color"},
		{"xterm beats vt100", []string{"vt100", "XTERM", "unknown"}, nil, 4,
			[]string{"vt100", "xterm", "unknown"}, "xterm"},
		{"dumb loses", []string{"DUMB", "vt220"}, nil, 3, []string{"dumb", "vt220"}, "vt220"},
		{"empty name ends", []string{""}, nil, 1, nil, ""},
		{"wrap-around ends", []string{"a", "b", "a"}, nil, 3, []string{"a", "b"}, "a"},
		{"endless list capped", nil, func(i int) string { return fmt.Sprintf("t%d", i) }, maxTTypeRounds,
			[]string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}, "t0"},
		{"control bytes stripped", []string{"xt\x1b[2Jerm"}, nil, 2, []string{"xt[2jerm"}, "xt[2jerm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			e.Start()
			feed(e, unhex("ff fc 1f ff fc 27")) // refuse NAWS and NEW-ENVIRON
			if got := cycle(e, tt.list, tt.next); got != tt.wantSends {
				t.Errorf("sent %d SENDs, want %d", got, tt.wantSends)
			}
			if got := e.TermTypes(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("TermTypes() = %q, want %q", got, tt.wantNames)
			}
			if got := e.Term(); got != tt.wantTerm {
				t.Errorf("Term() = %q, want %q", got, tt.wantTerm)
			}
			if !e.Settled() {
				t.Error("Settled() = false after the cycle")
			}
		})
	}
}

func TestTTypeUnsolicited(t *testing.T) {
	e := NewEngine()
	r := feed(e, ttypeIS("VT100"))
	if len(r.reply) != 0 {
		t.Errorf("reply % x to an unsolicited IS, want none (client never said WILL)", r.reply)
	}
	if e.Term() != "vt100" {
		t.Errorf("Term() = %q, want vt100", e.Term())
	}
	if r := feed(e, unhex("ff fa 18 01 ff f0")); len(r.reply)+len(r.events) != 0 {
		t.Errorf("client SEND produced %+v, want nothing", r)
	}
}
