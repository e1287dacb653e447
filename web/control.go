package web

import (
	"encoding/json"
	"errors"
	"fmt"

	"termhost/sessions"
)

// Limits of the WebSocket protocol (SPEC §9: frames are bounded).
const (
	// maxMessage bounds one message from the browser; the page sends a
	// paste in pieces below it. A bigger one closes the socket (1009).
	maxMessage = 64 << 10
	// maxControl bounds a text (control) message.
	maxControl = 256
	// maxDim bounds a terminal dimension a page may ask for; the session
	// layer applies its own, smaller, cap on cells.
	maxDim = 1000
)

// errBadControl is returned for a text frame that is not a valid control message.
var errBadControl = errors.New("bad control message")

// control is a text frame from the page. Only "resize" exists today:
// {"type":"resize","cols":C,"rows":R}.
type control struct {
	Type string `json:"type"`
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// decodeControl parses a text frame into a terminal size. Anything else —
// too long, not JSON, trailing data, another type, dimensions outside
// 1…maxDim — is an error wrapping errBadControl, and the frame is dropped.
func decodeControl(b []byte) (sessions.Size, error) {
	if len(b) > maxControl {
		return sessions.Size{}, fmt.Errorf("%d bytes (at most %d): %w", len(b), maxControl, errBadControl)
	}
	var c control
	if err := json.Unmarshal(b, &c); err != nil {
		return sessions.Size{}, fmt.Errorf("%v: %w", err, errBadControl)
	}
	if c.Type != "resize" {
		return sessions.Size{}, fmt.Errorf("type %q: %w", c.Type, errBadControl)
	}
	if c.Cols < 1 || c.Cols > maxDim || c.Rows < 1 || c.Rows > maxDim {
		return sessions.Size{}, fmt.Errorf("size %d×%d (1…%d each): %w", c.Cols, c.Rows, maxDim, errBadControl)
	}
	return sessions.Size{Width: c.Cols, Height: c.Rows}, nil
}
