package sessions_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"termhost/internal/testterm"
	"termhost/sessions"
)

// A window larger than the bounds is cut (sessions.ClampSize) and the user
// is told so once in the status bar, whether the size came with the
// attach (SSH pty-req, telnet NAWS before the workspace, the web page's
// first size) or later (window-change, NAWS, a web resize): one place,
// Session.resize and Manager.Serve, for every transport (issue 8).
func TestWindowClampIsTold(t *testing.T) {

	tests := []struct {
		name   string
		attach sessions.Size
		resize sessions.Size // zero: none
		told   string        // "": no notice
	}{
		{name: "huge at attach", attach: sessions.Size{Width: 65535, Height: 65535}, told: "showing 500x65 of your 65535x65535 window: the limit is 500 columns, 200 rows, 32768 cells"},
		{name: "too many cells at attach", attach: sessions.Size{Width: 400, Height: 100}, told: "showing 400x81 of your 400x100 window: the limit is 500 columns, 200 rows, 32768 cells"},
		{name: "huge by a resize", attach: sessions.Size{Width: 80, Height: 24}, resize: sessions.Size{Width: 65535, Height: 65535},
			told: "showing 500x65 of your 65535x65535 window: the limit is 500 columns, 200 rows, 32768 cells"},
		{name: "too wide by a resize", attach: sessions.Size{Width: 80, Height: 24}, resize: sessions.Size{Width: 900, Height: 30},
			told: "showing 500x30 of your 900x30 window: the limit is 500 columns, 200 rows, 32768 cells"},
		{name: "within the bounds", attach: sessions.Size{Width: 80, Height: 24}},
		{name: "the largest allowed", attach: sessions.Size{Width: 500, Height: 65}},
		{name: "resized within the bounds", attach: sessions.Size{Width: 80, Height: 24}, resize: sessions.Size{Width: 200, Height: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			resizes := make(chan sessions.Size, 1)
			ci := info("10.0.0.1:1001", tt.attach.Width, tt.attach.Height)
			ci.Resizes = resizes
			shown := sessions.ClampSize(tt.attach, sessions.Size{Width: 80, Height: 24})
			if tt.resize != (sessions.Size{}) {
				shown = sessions.ClampSize(tt.resize, shown)
			}
			// The user's terminal is as large as what is drawn: a test
			// screen of 65535×65535 cells would be the memory the bound saves.
			scr := testterm.New(shown.Width, shown.Height, testterm.CRLF())
			userEnd, serverEnd := net.Pipe()
			scr.Pipe(userEnd)
			done := make(chan error, 1)
			go func() { done <- e.mgr.Serve(context.Background(), serverEnd, ci, alice, nil) }()
			t.Cleanup(func() { userEnd.Close(); <-done; scr.Close() })
			scr.WaitFor(t, " alice · ", wait)
			if tt.resize != (sessions.Size{}) {
				e.settle(e.mgr, "10.0.0.1:1001")
				resizes <- tt.resize
			}
			if tt.told == "" {
				// A key makes a frame after the resize (if any) was applied.
				_, _ = userEnd.Write([]byte("typed"))
				text := scr.WaitFor(t, "typed", wait)
				if strings.Contains(text, " window: the limit is ") {
					t.Errorf("a window within the bounds was told it is too large:\n%s", text)
				}
				return
			}
			scr.WaitFor(t, tt.told, wait)
			// Once: the next key clears it, and the workspace keeps serving.
			_, _ = userEnd.Write([]byte("typed"))
			scr.WaitUntil(t, "the notice to go", wait, func(text string) bool {
				return strings.Contains(text, "typed") && !strings.Contains(text, " window: the limit is ")
			})
			in := e.only(alice)
			if c := in.Clients[0]; c.Width != shown.Width || c.Height != shown.Height {
				t.Errorf("listing says %dx%d, want the %dx%d drawn", c.Width, c.Height, shown.Width, shown.Height)
			}

		})
	}
}
