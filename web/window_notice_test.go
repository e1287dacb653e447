package web_test

import (
	"testing"

	"termhost/persist"
	"termhost/sessions"
)

// A page asking for a window larger than the bounds — in the socket's
// address or by a resize frame — is cut and told in the status bar
// (issue 8; the one place is sessions, see sessions.TestWindowClampIsTold).
func TestWindowClampToldOverWeb(t *testing.T) {
	asked := sessions.Size{Width: 1000, Height: 1000} // the most a page may ask (web's maxDim)
	shown := sessions.ClampSize(asked, sessions.Size{})
	told := sessions.ClampNotice(asked, shown)
	tests := []struct {
		name   string
		path   string
		resize string // a control frame once the workspace is up
	}{
		{name: "first size", path: "/s/new/ws?cols=1000&rows=1000"},
		{name: "resize", path: "/s/new/ws?cols=80&rows=24", resize: `{"type":"resize","cols":1000,"rows":1000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser("alice", persist.RoleUser, "pw-alice")
			b := e.browser()
			b.mustSignIn("alice", "pw-alice")
			tm := b.dial(tt.path, shown.Width, shown.Height)
			tm.waitFor(" alice · ")
			if tt.resize != "" {
				tm.control(tt.resize)
			}
			tm.waitFor(told)
			tm.send("typed")
			tm.waitFor("typed")
		})
	}
}
