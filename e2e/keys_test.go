package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 9 with the real OpenSSH client: a session name with control
// characters is refused (exit 1) and never listed; key forms the Linux
// console sends type nothing; a bracketed paste from tmux keeps its lines.
func TestSSHKeysPasteAndNames(t *testing.T) {
	need(t, "ssh", "tmux")
	s := startServer(t, "")
	key := keyFile(t)
	addUser(t, s, "kim", "pa55word", key)

	t.Run("control characters in a name are refused", func(t *testing.T) {
		args := strings.Fields(s.sshCmd(key, "kim", "-tt"))
		args = append(args, "new", "\x1b[2J\x1b]0;x\a")
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err == nil {
			t.Fatalf("ssh -t new ESC[2J… exited 0:\n%q", out)
		}
		if !strings.Contains(string(out), "no control characters") {
			t.Errorf("output does not say why:\n%q", out)
		}
		for _, in := range listSessions(t, s) {
			if strings.ContainsRune(in.Name, 0x1b) {
				t.Fatalf("session %q was created", in.Name)
			}
		}
	})

	tm := attach(t, s, key, "kim")
	t.Run("linux console function keys type nothing", func(t *testing.T) {
		tm.typeText("a\x1b[[A\x1b[[E\x1b[2$b|")
		tm.waitFor("ab|")
		tm.send("BSpace", "BSpace", "BSpace")
		tm.waitGone("ab|")
	})
	t.Run("bracketed paste keeps LF line ends", func(t *testing.T) {
		tm.tmux("set-buffer", "line1\nline2\nline3")
		tm.tmux("paste-buffer", "-p", "-r", "-t", "t")
		tm.typeText("|")
		scr := tm.waitFor("line3|")
		if !strings.Contains(scr, "line1\nline2\nline3|") {
			t.Fatalf("paste lost its line ends:\n%s", scr)
		}
	})
}

// Over SSH, LANG=C sent with SendEnv gets ASCII drawing characters: the
// status bar's "·" and the help box arrive as '.', '+', '-' and '|'.
func TestSSHNonUTF8LocaleGetsASCII(t *testing.T) {
	need(t, "ssh", "tmux")
	s := startServer(t, "")
	key := keyFile(t)
	addUser(t, s, "lee", "pa55word", key)
	tm := newTerm(t, 100, 30, "LANG=C LC_ALL= LC_CTYPE= "+s.sshCmd(key, "lee", "-o", "SendEnv=LANG"))
	tm.waitFor(" lee . 1")
	tm.send("C-b", "?")
	scr := tm.waitFor("any key: close")
	if strings.ContainsAny(scr, "·╭─╮│╰╯…") {
		t.Fatalf("UTF-8 drawing characters on an ASCII terminal:\n%s", scr)
	}
	if !strings.Contains(scr, "+---") {
		t.Fatalf("the help box is not drawn in ASCII:\n%s", scr)
	}
}

// Debian telnet announces TERM as its TTYPE: syncterm gets CP437, so the
// status bar's "·" arrives as the one byte 0xFA, never as UTF-8 (the pane's
// raw output is recorded with tmux pipe-pane).
func TestTelnetSynctermGetsCP437(t *testing.T) {
	need(t, "telnet", "tmux")
	s := startTelnetServer(t)
	key := keyFile(t)
	addUser(t, s, "syd", "pa55word", key)
	raw := filepath.Join(t.TempDir(), "raw")
	tm := newTerm(t, 100, 30, "sleep 0.5; env TERM=syncterm telnet 127.0.0.1 "+s.telnetPort())
	tm.tmux("pipe-pane", "-o", "-t", "t", "cat >> "+raw)
	tm.waitFor("login:")
	tm.typeText("syd")
	tm.send("Enter")
	tm.waitFor("Password:")
	tm.typeText("pa55word")
	tm.send("Enter")
	tm.waitFor(" syd ")
	tm.send("C-b", "?")
	tm.waitFor("any key: close")
	var out []byte
	waitCond(t, "the status bar in CP437", func() bool {
		out, _ = os.ReadFile(raw)
		return bytes.Contains(out, []byte(" syd \xfa 1")) && bytes.Contains(out, []byte("\xda\xc4"))
	})
	for _, utf := range []string{"·", "─", "╭", "│"} {
		if bytes.Contains(out, []byte(utf)) {
			t.Fatalf("UTF-8 %q sent to a CP437 terminal", utf)
		}
	}
}

// waitCond polls cond every 20 ms for up to 10 s.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
