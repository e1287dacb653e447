package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// Issue 3, done-when 4: B detaches; A writes in #lobby; B reattaches and
// sees the messages and the unread badge.
func TestChatReachesDetachedSession(t *testing.T) {
	s := startServer(t, "")
	keyA, keyB := keyFile(t), keyFile(t)
	a := attach(t, s, keyA, "amy")
	b := attach(t, s, keyB, "ben")
	openTab(t, a, "Chat")
	openTab(t, b, "Chat")
	b.send("C-b", "1") // ben looks at Notes, not at the chat
	b.send("C-b", "d")
	b.waitFor("[exited]")

	a.typeText("hello ben")
	a.send("Enter")
	a.typeText("are you there?")
	a.send("Enter")
	a.waitFor("amy: are you there?")

	b2 := attach(t, s, keyB, "ben")
	screen := b2.waitFor("chat 2")
	if !strings.Contains(screen, "#lobby (2)") {
		t.Fatalf("unread badge missing on the tab:\n%s", screen)
	}
	b2.send("C-b", "2")
	screen = b2.waitFor("amy: are you there?")
	if !strings.Contains(screen, "amy: hello ben") {
		t.Fatalf("messages missing:\n%s", screen)
	}
	b2.waitGone("chat 2")
}

// openTab opens an app through the ctrl+b c chooser by its title.
func openTab(t *testing.T, tm *term, title string) {
	t.Helper()
	tm.send("C-b", "c")
	screen := tm.waitFor("Open a new tab:")
	m := regexp.MustCompile(`(\d) ` + regexp.QuoteMeta(title)).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no %s in the chooser:\n%s", title, screen)
	}
	tm.send(m[1])
	tm.waitGone("Open a new tab:")
}

// clockRE matches chat timestamps, which may change across a restart.
var clockRE = regexp.MustCompile(`\d\d:\d\d`)

// Issue 3, done-when 5: three tabs (Notes on two documents, Chat with a
// draft), cursors moved; detach, restart, reattach: the same screen.
func TestWorkspaceSurvivesRestartExactly(t *testing.T) {
	s := startServer(t, "")
	key := keyFile(t)
	tm := attach(t, s, key, "quinn")
	tm.typeText("first document line one")
	tm.send("Enter")
	tm.typeText("line two")
	tm.send("Up", "Home", "Right", "Right")
	tm.send("C-s")
	tm.waitFor("saved")

	openTab(t, tm, "Documents")
	tm.send("n")
	tm.waitFor("New document title:")
	tm.typeText("second")
	tm.send("Enter")
	tm.waitFor(" 3:second")
	tm.typeText("the other document")
	tm.send("Left", "Left", "Left")

	openTab(t, tm, "Chat")
	tm.typeText("a draft not yet sent")
	tm.send("C-b", "3") // back to the second document
	tm.waitFor("the other document")
	before := tm.screen()
	beforeCursor := tm.cursor()

	tm.send("C-b", "d")
	tm.waitFor("[exited]")
	s.stop()
	s.restart()

	again := attach(t, s, key, "quinn")
	again.waitFor("the other document")
	after := again.screen()
	if clockRE.ReplaceAllString(after, "hh:mm") != clockRE.ReplaceAllString(before, "hh:mm") {
		t.Fatalf("screen differs after restart\nbefore:\n%s\nafter:\n%s", before, after)
	}
	again.waitCursor(beforeCursor)
	again.send("C-b", "4")
	again.waitFor("a draft not yet sent")
	again.send("C-b", "1")
	again.waitFor("first document line one")
}
