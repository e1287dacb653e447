package sessions

import (
	"bytes"
	"errors"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"termhost/persist"
)

// inputDecoder decodes a connection's input across reads: a read may end
// inside an escape sequence or a UTF-8 character (TCP segments and SSH
// packets split anywhere), so an incomplete tail waits for the next read.
// A lone ESC that ends a longer read waits too; an ESC read on its own is
// the Escape key at once.
type inputDecoder struct {
	dec  uv.EventDecoder
	tail []byte
}

// maxTail bounds what may wait for the next read; a longer "sequence" is
// decoded as it is.
const maxTail = 64

func (d *inputDecoder) decode(p []byte) []tea.Msg {
	if len(p) == 0 {
		return nil
	}
	if len(p) == 1 && p[0] == 0x1b && len(d.tail) == 0 {
		return decode(&d.dec, p) // the Escape key, pressed on its own
	}
	buf := p
	if len(d.tail) > 0 {
		buf = append(d.tail, p...)
		d.tail = nil
	}
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
	return decode(&d.dec, buf[:cut])
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
				j++
			}
			// X10 mouse reports carry three raw bytes after "\x1b[M".
			held = j == n || (j == i+2 && buf[j] == 'M' && n-j-1 < 3)
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

// decode turns raw terminal input into messages for the workspace.
func decode(dec *uv.EventDecoder, buf []byte) []tea.Msg {
	var out []tea.Msg
	for len(buf) > 0 {
		n, ev := safeDecode(dec, buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		out = appendEvent(out, ev)
	}
	return out
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
