package sessions_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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

// countingWriter counts what a client receives and the full-screen
// erasures in it (a redraw for a new size starts with one).
type countingWriter struct {
	mu      sync.Mutex
	out     []byte
	erasure int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out = append(w.out, p...)
	w.erasure = bytes.Count(w.out, []byte("\x1b[2J"))
	return len(p), nil
}

func (w *countingWriter) erasures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.erasure
}

// TestResizeFloodIsPaced: a client sending new sizes without pause (a
// hostile one: the attack trial's 300,000 resize frames in 20 s put another
// user's echo at 18-33 ms) gets at most one redraw per ResizeEvery, and the
// last size it sent is the one it ends with.
func TestResizeFloodIsPaced(t *testing.T) {
	e := newEnv(t, testPolicy())
	resizes := make(chan sessions.Size, 1)
	ci := info("10.0.0.1:1001", 80, 24)
	ci.Resizes = resizes
	userEnd, serverEnd := net.Pipe()
	w := &countingWriter{}
	go io.Copy(w, userEnd)
	done := make(chan error, 1)
	go func() { done <- e.mgr.Serve(context.Background(), serverEnd, ci, alice, nil) }()
	t.Cleanup(func() { userEnd.Close(); <-done })
	e.settle(e.mgr, "10.0.0.1:1001")
	before := w.erasures()

	const flood = 400 * time.Millisecond
	start := time.Now()
	for i := 0; time.Since(start) < flood; i++ {
		sessions.OfferSize(resizes, sessions.Size{Width: 200 + i%2, Height: 60})
		time.Sleep(20 * time.Microsecond)
	}
	elapsed := time.Since(start)
	sessions.OfferSize(resizes, sessions.Size{Width: 120, Height: 40})
	deadline := time.Now().Add(wait)
	for {
		if c := e.only(alice).Clients; len(c) == 1 && c[0].Width == 120 && c[0].Height == 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last size sent was never applied: %+v", e.only(alice).Clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * sessions.ResizeEvery) // anything still queued lands
	redraws := w.erasures() - before
	// One per ResizeEvery, the first at once, the last size, and slack
	// for a slow machine; unpaced, this loop made 142 on the dev VM.
	if most := 2*int(elapsed/sessions.ResizeEvery) + 4; redraws > most || redraws < 2 {
		t.Errorf("%d redraws for a %v flood of sizes; want 2 to %d (about one per %v)", redraws, elapsed, most, sessions.ResizeEvery)
	}
}
