package sessions

import (
	"bytes"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestKeyForms: the key sequences common terminals send decode to the
// keys they mean, whole and split at every byte (the split tail flushed as
// the pump does after EscapeTime), and none types text into a document.
func TestKeyForms(t *testing.T) {
	tests := []struct {
		name string
		seq  string
		want string // tea key name
	}{
		// xterm (normal and application cursor mode), VT100/VT220.
		{name: "xterm up", seq: "\x1b[A", want: "up"},
		{name: "xterm down", seq: "\x1b[B", want: "down"},
		{name: "xterm right", seq: "\x1b[C", want: "right"},
		{name: "xterm left", seq: "\x1b[D", want: "left"},
		{name: "vt100 app up", seq: "\x1bOA", want: "up"},
		{name: "vt100 app left", seq: "\x1bOD", want: "left"},
		{name: "xterm home", seq: "\x1b[H", want: "home"},
		{name: "xterm end", seq: "\x1b[F", want: "end"},
		{name: "xterm app home", seq: "\x1bOH", want: "home"},
		{name: "xterm app end", seq: "\x1bOF", want: "end"},
		{name: "vt100 pf1", seq: "\x1bOP", want: "f1"},
		{name: "vt100 pf4", seq: "\x1bOS", want: "f4"},
		{name: "xterm f5", seq: "\x1b[15~", want: "f5"},
		{name: "xterm f12", seq: "\x1b[24~", want: "f12"},
		{name: "xterm ctrl+right", seq: "\x1b[1;5C", want: "ctrl+right"},
		{name: "xterm shift+f1", seq: "\x1b[1;2P", want: "shift+f1"},
		{name: "xterm shift+tab", seq: "\x1b[Z", want: "shift+tab"},
		{name: "vt220 find/home", seq: "\x1b[1~", want: "home"},
		{name: "vt220 insert", seq: "\x1b[2~", want: "insert"},
		{name: "vt220 delete", seq: "\x1b[3~", want: "delete"},
		{name: "vt220 select/end", seq: "\x1b[4~", want: "end"},
		{name: "vt220 prior", seq: "\x1b[5~", want: "pgup"},
		{name: "vt220 next", seq: "\x1b[6~", want: "pgdown"},
		{name: "vt220 f6", seq: "\x1b[17~", want: "f6"},
		{name: "backspace del", seq: "\x7f", want: "backspace"},
		{name: "backspace bs", seq: "\b", want: "ctrl+h"},
		{name: "enter", seq: "\r", want: "enter"},
		{name: "tab", seq: "\t", want: "tab"},
		{name: "alt+up as esc prefix", seq: "\x1b\x1b[A", want: "alt+up"},
		// The Linux console and PuTTY's "Linux" function-key mode.
		{name: "linux f1", seq: "\x1b[[A", want: "f1"},
		{name: "linux f2", seq: "\x1b[[B", want: "f2"},
		{name: "linux f3", seq: "\x1b[[C", want: "f3"},
		{name: "linux f4", seq: "\x1b[[D", want: "f4"},
		{name: "linux f5", seq: "\x1b[[E", want: "f5"},
		{name: "linux f6", seq: "\x1b[17~", want: "f6"},
		// PuTTY's default ("ESC [n~") mode and rxvt's home/end.
		{name: "putty f1", seq: "\x1b[11~", want: "f1"},
		{name: "putty f4", seq: "\x1b[14~", want: "f4"},
		{name: "rxvt home", seq: "\x1b[7~", want: "home"},
		{name: "rxvt end", seq: "\x1b[8~", want: "end"},
		{name: "rxvt shift+up", seq: "\x1b[a", want: "shift+up"},
		{name: "rxvt ctrl+left", seq: "\x1bOd", want: "ctrl+left"},
		{name: "rxvt shift+insert", seq: "\x1b[2$", want: "shift+insert"},
		{name: "rxvt shift+delete", seq: "\x1b[3$", want: "shift+delete"},
		{name: "rxvt shift+insert, then a letter", seq: "\x1b[2$b", want: "shift+insert b"},
		{name: "rxvt ctrl+home", seq: "\x1b[7^", want: "ctrl+home"},
		{name: "rxvt ctrl+pgup", seq: "\x1b[5^", want: "ctrl+pgup"},
		{name: "rxvt ctrl+shift+delete", seq: "\x1b[3@", want: "ctrl+shift+delete"},
		// screen and tmux (TERM=screen/tmux): the vt100/vt220 forms.
		{name: "screen home", seq: "\x1b[1~", want: "home"},
		{name: "screen end", seq: "\x1b[4~", want: "end"},
		{name: "tmux app up", seq: "\x1bOA", want: "up"},
		{name: "tmux ctrl+up", seq: "\x1b[1;5A", want: "ctrl+up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for at := 0; at <= len(tt.seq); at++ {
				var d inputDecoder
				got := d.decode([]byte(tt.seq[:at]))
				got = append(got, d.decode([]byte(tt.seq[at:]))...)
				got = append(got, d.flush()...)
				want := strings.Fields(tt.want)
				if len(got) != len(want) {
					t.Fatalf("split at %d: %q decodes to %d events %v, want %s", at, tt.seq, len(got), got, tt.want)
				}
				k, ok := got[0].(tea.KeyPressMsg)
				if !ok || k.String() != want[0] {
					t.Fatalf("split at %d: %q decodes to %v, want %s", at, tt.seq, got[0], tt.want)
				}
				if k.Text != "" {
					t.Fatalf("%q would type %q into a document", tt.seq, k.Text)
				}
				for i, w := range want[1:] {
					if k, ok := got[1+i].(tea.KeyPressMsg); !ok || k.String() != w {
						t.Fatalf("split at %d: %q decodes to %v, want %s", at, tt.seq, got, tt.want)
					}
				}
			}
		})
	}
}

// A paste is bounded: past maxPaste bytes the rest is dropped, and the
// paste still ends at its marker.
func TestPasteBounded(t *testing.T) {
	var d inputDecoder
	big := bytes.Repeat([]byte("x"), maxPaste+100)
	var got []tea.Msg
	got = append(got, d.decode([]byte("\x1b[200~"))...)
	for len(big) > 0 {
		n := min(len(big), 4096)
		got = append(got, d.decode(big[:n])...)
		big = big[n:]
		if len(d.paste) > maxPaste || len(d.tail) > maxTail {
			t.Fatalf("buffered %d paste bytes, %d tail", len(d.paste), len(d.tail))
		}
	}
	got = append(got, d.decode([]byte("\x1b[201~a"))...)
	if len(got) != 2 {
		t.Fatalf("%d events, want a paste and a key", len(got))
	}
	if p, ok := got[0].(tea.PasteMsg); !ok || len(p.Content) != maxPaste {
		t.Fatalf("first event %T, want a paste of %d bytes", got[0], maxPaste)
	}
	if k, ok := got[1].(tea.KeyPressMsg); !ok || k.Text != "a" {
		t.Fatalf("after the paste: %v, want a", got[1])
	}
}
