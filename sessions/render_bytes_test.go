package sessions

import (
	"testing"
)

// TestTypingCostsFewBytes: after the first frame, a typed character in
// Notes costs a handful of bytes on the wire (issue 5: ≤ 2 per character,
// status-bar changes aside).
func TestTypingCostsFewBytes(t *testing.T) {
	m, _ := screenFixture(t)
	ws := newDriven(m, User{Name: "sam"}).Workspace
	c := &Client{info: ClientInfo{Term: "xterm-256color"}}
	content, cur := ws.View(80, 24)
	c.render(content, cur, 80, 24, true)
	c.frame.Reset()
	typeInto(ws, "x") // the first key also marks the tab title dirty
	content, cur = ws.View(80, 24)
	c.render(content, cur, 80, 24, true)
	c.frame.Reset()
	total := 0
	const n = 50
	for i := range n {
		typeInto(ws, string(rune('a'+i%26)))
		content, cur = ws.View(80, 24)
		total += len(c.render(content, cur, 80, 24, true))
		c.frame.Reset()
	}
	if per := float64(total) / n; per > 2 {
		t.Errorf("%.2f bytes per typed character, want ≤ 2", per)
	}
}
