package sessions

import (
	"errors"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"termhost/persist"
)

// decode turns raw terminal input into messages for the workspace.
func decode(dec *uv.EventDecoder, buf []byte) []tea.Msg {
	var out []tea.Msg
	for len(buf) > 0 {
		n, ev := dec.Decode(buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		out = appendEvent(out, ev)
	}
	return out
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
