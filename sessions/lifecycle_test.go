package sessions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/sessions"
)

// A new session opens Notes on "untitled"; ctrl+b d detaches and Serve
// returns; attaching again shows the same text with the cursor in place.
func TestDetachReattachKeepsTextAndCursor(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	if got := c.scr.Line(0); !strings.Contains(got, "untitled") {
		t.Fatalf("tab bar = %q, want a Notes tab on an untitled document", got)
	}
	c.send("hello world\rsecond line")
	c.send("\x1b[D\x1b[D")
	c.scr.WaitUntil(t, "cursor two left of the end", wait, func(string) bool {
		x, y := c.scr.Cursor()
		return x == len("second line")-2 && y == 2
	})
	want := c.scr.Lines()[1:3]

	c.send("\x02d")
	if err := c.waitDone(); err != nil {
		t.Fatalf("Serve after detach = %v, want nil", err)
	}
	c.waitFor("[detached from session 1]")
	if c.scr.AltScreen() {
		t.Error("client left on the alternate screen after detaching")
	}
	in := e.only(alice)
	if in.State != persist.StateDetached {
		t.Errorf("state after detach = %q, want detached", in.State)
	}

	c2 := e.attach()
	c2.waitFor("second line")
	if got := c2.scr.Lines()[1:3]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reattached text = %q, want %q", got, want)
	}
	if x, y := c2.scr.Cursor(); x != len("second line")-2 || y != 2 {
		t.Errorf("reattached cursor = (%d,%d), want (%d,2)", x, y, len("second line")-2)
	}
	if got := e.kinds(e.mgr, in.ID); strings.Join(got, ",") != "created,attached,detached,attached" {
		t.Errorf("history = %v", got)
	}
}

// A second plain attach takes the session over: the first client is told
// from where and disconnected.
func TestAttachTakesOver(t *testing.T) {
	e := newEnv(t, testPolicy())
	first := e.attach()
	first.send("mine")
	first.waitFor("mine")

	second := e.serve(e.mgr, alice, info("10.9.8.7:4242", 80, 24))
	second.waitFor("mine")
	if err := first.waitDone(); err != nil {
		t.Fatalf("first Serve = %v", err)
	}
	first.waitFor("detached: session attached from 10.9.8.7:4242 via ssh")

	second.send("!")
	second.waitFor("mine!")
	in := e.only(alice)
	if len(in.Clients) != 1 || in.Clients[0].Remote != "10.9.8.7:4242" {
		t.Errorf("clients after takeover = %+v, want only the new one", in.Clients)
	}
}

// attach --shared joins as a second client: both see one workspace, both
// drive it, and it renders at the smaller size on both.
func TestAttachShared(t *testing.T) {
	e := newEnv(t, testPolicy())
	big := e.attach()
	small := e.serve(e.mgr, alice, info("10.0.0.2:1002", 60, 20), "attach", "1", "--shared")
	small.waitFor(" alice · ")

	big.send("from big ")
	small.waitFor("from big")
	small.send("from small")
	big.waitFor("from big from small")
	small.waitFor("from big from small")

	if b, s := big.scr.Lines()[:20], small.scr.Lines(); strings.Join(b, "\n") != strings.Join(s, "\n") {
		t.Errorf("screens differ:\nbig:\n%s\nsmall:\n%s", strings.Join(b, "\n"), strings.Join(s, "\n"))
	}
	for y, l := range big.scr.Lines() {
		if len([]rune(l)) > 60 {
			t.Errorf("big screen line %d is %d cells wide, want ≤ 60 (the smaller client): %q", y, len([]rune(l)), l)
		}
		if y >= 20 && l != "" {
			t.Errorf("big screen line %d = %q, want empty below the shared 20 rows", y, l)
		}
	}
	if !strings.Contains(big.scr.Line(19), "alice · 1") {
		t.Errorf("status bar not on row 19 of the big client: %q", big.scr.Line(19))
	}
	bx, by := big.scr.Cursor()
	if sx, sy := small.scr.Cursor(); bx != sx || by != sy {
		t.Errorf("cursors differ: big (%d,%d), small (%d,%d)", bx, by, sx, sy)
	}
	if in := e.only(alice); len(in.Clients) != 2 {
		t.Errorf("clients = %d, want 2", len(in.Clients))
	}

	// When the small client leaves, the big one gets its full size back.
	small.send("\x02d")
	small.waitDone()
	big.scr.WaitUntil(t, "status bar on row 23", wait, func(string) bool {
		return strings.Contains(big.scr.Line(23), "alice · 1")
	})
}

// A window-change re-renders at the new size.
func TestResize(t *testing.T) {
	e := newEnv(t, testPolicy())
	resizes := make(chan sessions.Size, 1)
	ci := info("10.0.0.1:1001", 80, 24)
	ci.Resizes = resizes
	c := e.serve(e.mgr, alice, ci)
	c.waitFor(" alice · ")
	c.scr.Resize(40, 10)
	resizes <- sessions.Size{Width: 40, Height: 10}
	c.scr.WaitUntil(t, "status bar on row 9", wait, func(string) bool {
		return strings.Contains(c.scr.Line(9), "alice · 1")
	})
	if in := e.only(alice); in.Clients[0].Width != 40 || in.Clients[0].Height != 10 {
		t.Errorf("listed size = %dx%d, want 40x10", in.Clients[0].Width, in.Clients[0].Height)
	}
}

func TestServeVerbs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" means the workspace opens
		screen  string
	}{
		{name: "new with a name", args: []string{"new", "work"}, screen: " alice · work"},
		{name: "new picks the next free number", args: []string{"new"}, screen: " alice · 1 "},
		{name: "attach by name", args: []string{"attach", "first"}, screen: "in first"},
		{name: "attach alias a", args: []string{"a", "first"}, screen: "in first"},
		{name: "attach unknown", args: []string{"attach", "nope"}, wantErr: "no such session"},
		{name: "bad session name", args: []string{"new", "a b"}, wantErr: "no spaces"},
		{name: "unknown verb", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			c := e.attach("new", "first")
			c.send("in first")
			c.waitFor("in first")
			c.send("\x02d")
			c.waitDone()

			c = e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24), tt.args...)
			if tt.wantErr != "" {
				err := c.waitDone()
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Serve(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
				}
				c.waitFor("error: ")
				return
			}
			c.waitFor(tt.screen)
		})
	}
}

// With several sessions and no arguments the user picks one.
func TestPickerChoosesAmongSessions(t *testing.T) {
	e := newEnv(t, testPolicy())
	for _, name := range []string{"one", "two"} {
		c := e.attach("new", name)
		c.send("text of " + name)
		c.waitFor("text of " + name)
		c.send("\x02d")
		c.waitDone()
		e.clock.Advance(time.Minute) // the picker lists oldest first
	}
	c := e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24))
	c.waitFor("+ new session")
	c.waitFor("two")
	c.send("j") // down to "two"
	c.send("\r")
	c.waitFor("text of two")

	q := e.serve(e.mgr, alice, info("10.0.0.3:1003", 80, 24))
	q.waitFor("+ new session")
	q.send("q")
	if err := q.waitDone(); err != nil {
		t.Errorf("quitting the picker: Serve = %v, want nil", err)
	}
	if infos, _ := e.mgr.List(context.Background(), "alice", ""); len(infos) != 2 {
		t.Errorf("sessions after quitting the picker = %d, want 2", len(infos))
	}
}

// ctrl+b q then y ends the session; its workspace is the next session's start.
func TestQuitEndsSessionAndKeepsWorkspace(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	c.send("keep me")
	c.waitFor("keep me")
	id := e.only(alice).ID
	c.send("\x02q")
	c.waitFor("End this session?")
	c.send("y")
	c.waitDone()
	c.waitFor("[session 1 ended: quit]")
	if r := e.record(id); r.State != persist.StateEnded || r.EndReason != "quit" {
		t.Errorf("record = %s/%q, want ended/quit", r.State, r.EndReason)
	}
	c2 := e.attach()
	c2.waitFor("keep me")
	if _, err := e.mgr.Find(context.Background(), "alice", id); err != nil {
		t.Errorf("an ended session should still be found for `show`: %v", err)
	}
	if _, err := e.mgr.Create(context.Background(), alice, "1"); !errors.Is(err, persist.ErrExists) {
		t.Errorf("Create with the live session's name = %v, want ErrExists", err)
	}
}

// A user's own ctrl+b d is recorded under their name, as their other
// actions are (newcomer trial: the history said "user").
func TestSelfDetachNamesTheUser(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	id := e.only(alice).ID
	c.send("\x02d")
	c.waitDone()
	waitFor(t, "the detach in the history", func() bool {
		_, events, _ := e.mgr.Show(context.Background(), id)
		return len(events) > 0 && events[len(events)-1].Kind == "detached"
	})
	_, events, _ := e.mgr.Show(context.Background(), id)
	if last := events[len(events)-1]; last.Actor != "alice" || last.Detail != "detach" {
		t.Errorf("history of a ctrl+b d: actor %q detail %q, want alice and detach", last.Actor, last.Detail)
	}
}
