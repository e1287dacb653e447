package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser; a downloaded build cannot be fetched here.
const chromium = "/usr/bin/chromium"

// newBrowser starts headless Debian chromium and returns a context for
// further tabs. Skips (or fails under TERMHOST_E2E=1) without chromium.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		need(t, "chromium") // skips or fails with the usual message
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.WindowSize(1000, 700),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab opens a tab in a browser context of its own (its own cookies).
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return ctx
}

// newSessionButton is the sessions page's New session button (a POST
// form; GET /s/new shows the same button).
const newSessionButton = `form[action="/s/new"] button`

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, what, chromedp.Steps(actions...))
}

// get runs one action (bounded) and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v (page %s)\n%s", what, err, loc, text)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return get(t, ctx, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// waitPage polls a JavaScript condition (bounded) and fails with what the
// terminal shows.
func waitPage(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")")); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			screen, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`window.termhost ? termhost.screen() : document.body.innerText`))
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("status")||{}).textContent||""`))
			t.Fatalf("timed out waiting for %s (%s)\nstatus: %q\nscreen:\n%s", what, cond, status, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeText enters text as the browser's text input does (Input.insertText
// into the focused xterm.js textarea). chromedp's KeyEvent sends both a
// keyDown with text and a char event, which xterm.js takes as two keys.
func typeText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}

func screenHas(s string) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf("window.termhost && termhost.screen().includes(%s)", b)
}

func statusHas(s string) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf(`!document.getElementById("status").hidden && document.getElementById("status").textContent.includes(%s)`, b)
}

// cutProxy forwards TCP to target and can drop every connection at once,
// as a lost network does: the browser sees its socket die without a close
// frame.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// cut drops every forwarded connection.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	n := len(p.conns)
	p.conns = nil
	return n
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestWebBrowser drives the web terminal with a real browser (SPEC §9):
// sign in, the workspace in xterm.js, typing into Notes, a reload that
// lands back on the same text and cursor, a dropped connection that
// reconnects by itself, a server restart the page waits out, an OpenSSH takeover the page explains and does not
// fight, an admin kill from /admin, and a one-time link that works once.
func TestWebBrowser(t *testing.T) {
	need(t, "ssh")
	browser := newBrowser(t)
	httpAddr := freePort(t)
	s := startServer(t, "", "--http-addr", httpAddr)
	if s.httpAddr != httpAddr {
		t.Fatalf("server says http on %q, want %q:\n%s", s.httpAddr, httpAddr, s.out.String())
	}
	key := keyFile(t)
	if out, err := s.run("pw-alice\n", "user", "add", "alice", "--key", key+".pub", "--password-stdin"); err != nil {
		t.Fatalf("user add alice: %v\n%s", err, out)
	}
	if out, err := s.run("pw-root1\n", "user", "add", "root", "--admin", "--password-stdin"); err != nil {
		t.Fatalf("user add root: %v\n%s", err, out)
	}
	// The browser reaches the server through a proxy the test can cut.
	proxy := newCutProxy(t, httpAddr)
	base := "http://" + proxy.addr()
	alice := tab(t, browser)
	signIn := func(ctx context.Context, user, password string) {
		t.Helper()
		run(t, ctx, "sign in as "+user,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), user),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.CSS(newSessionButton)),
		)
	}

	var sessionPath string
	t.Run("sign in and type into Notes", func(t *testing.T) {
		signIn(alice, "alice", "pw-alice")
		run(t, alice, "open a new session", chromedp.Click(chromedp.CSS(newSessionButton)))
		waitPage(t, alice, "the workspace", screenHas("alice")+` && termhost.state() === "open"`)
		// xterm.js puts its theme and cell metrics in <style> elements; a
		// Content-Security-Policy without inline styles silently drops them
		// (no colours, a proportional font).
		if !eval[bool](t, alice, `[...document.querySelectorAll("style")].some(e => e.sheet && e.sheet.cssRules.length > 0)`) {
			t.Fatal("xterm.js's styles were not applied (blocked by the Content-Security-Policy?)")
		}
		run(t, alice, "type", typeText("hello from chromium"))
		waitPage(t, alice, "typed text", screenHas("hello from chromium"))
		sessionPath = get(t, alice, "location", chromedp.Location())
		sessionPath = sessionPath[strings.Index(sessionPath, "/s/"):]
		if !regexp.MustCompile(`/s/[a-z2-7]{26}$`).MatchString(sessionPath) {
			t.Fatalf("after the session frame the page is at %q, want /s/ID", sessionPath)
		}
	})

	t.Run("the terminal follows the window's size", func(t *testing.T) {
		cols := eval[int](t, alice, "termhost.term.cols")
		w, h := eval[int64](t, alice, "window.innerWidth"), eval[int64](t, alice, "window.innerHeight")
		run(t, alice, "shrink the window", chromedp.EmulateViewport(w*7/10, h*7/10))
		waitPage(t, alice, "fewer columns", fmt.Sprintf("termhost.term.cols < %d", cols))
		want := eval[int](t, alice, "termhost.term.cols")
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := s.run("", "sessions", "list", "--json")
			if err != nil {
				t.Fatalf("sessions list: %v\n%s", err, out)
			}
			if strings.Contains(out, fmt.Sprintf(`"width": %d,`, want)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server never saw the page's %d columns:\n%s", want, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		run(t, alice, "restore the window", chromedp.EmulateViewport(w, h))
		waitPage(t, alice, "the columns back", fmt.Sprintf("termhost.term.cols === %d", cols))
	})

	t.Run("reload lands on the same text and cursor", func(t *testing.T) {
		before := eval[map[string]int](t, alice, "termhost.cursor()")
		run(t, alice, "reload", chromedp.Reload())
		waitPage(t, alice, "text after reload", screenHas("hello from chromium")+` && termhost.state() === "open"`)
		waitPage(t, alice, "cursor after reload", fmt.Sprintf("termhost.cursor().x === %d && termhost.cursor().y === %d", before["x"], before["y"]))
	})

	t.Run("a page elsewhere that sends the browser to the session asks first", func(t *testing.T) {
		// Another origin (another port) with a meta refresh: the Lax cookie
		// rides along, and the terminal page would take the session over
		// from the user's other clients with no click (newcomer trial).
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><meta http-equiv="refresh" content="0;url=%s%s"><p>elsewhere</p>`, base, sessionPath)
		}))
		defer other.Close()
		run(t, alice, "a page elsewhere", chromedp.Navigate(other.URL))
		waitPage(t, alice, "the question", `document.body.innerText.includes("Another site sent you") && !window.termhost`)
		run(t, alice, "open it", chromedp.Click(chromedp.CSS(`main a.button`)))
		waitPage(t, alice, "the session after the click", screenHas("hello from chromium")+` && termhost.state() === "open"`)
	})

	t.Run("a dropped connection reconnects by itself", func(t *testing.T) {
		if n := proxy.cut(); n == 0 {
			t.Fatal("no connection to cut")
		}
		waitPage(t, alice, "reconnected", `termhost.reconnects() > 0 && termhost.state() === "open"`)
		run(t, alice, "type after reconnect", typeText(" again"))
		waitPage(t, alice, "text after reconnect", screenHas("hello from chromium again"))
	})

	t.Run("a server restart: the page is told, waits and comes back", func(t *testing.T) {
		before := eval[int](t, alice, "termhost.reconnects()")
		s.stop()
		waitPage(t, alice, "the restart notice", `termhost.state() !== "open" && `+statusHas("Server restarting"))
		s.restart()
		if s.httpAddr != httpAddr {
			t.Fatalf("restarted on %q, want %q", s.httpAddr, httpAddr)
		}
		waitPage(t, alice, "back after the restart", fmt.Sprintf(`termhost.reconnects() > %d && termhost.state() === "open"`, before)+" && "+screenHas("hello from chromium again"))
	})

	t.Run("an OpenSSH client takes over and the page says so", func(t *testing.T) {
		args := strings.Fields(s.sshCmd(key, "alice", "-tt"))
		ssh := exec.Command(args[0], append(args[1:], "attach", strings.TrimPrefix(sessionPath, "/s/"))...)
		stdin, _ := ssh.StdinPipe()
		if err := ssh.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); ssh.Process.Kill(); ssh.Wait() })
		waitPage(t, alice, "the takeover message", `termhost.state() === "ended" && `+statusHas("via ssh"))
		// The page must not reconnect into a fight: its first retry would
		// come within about 300 ms.
		reconnects := eval[int](t, alice, "termhost.reconnects()")
		time.Sleep(time.Second)
		if got := eval[string](t, alice, "termhost.state()"); got != "ended" || eval[int](t, alice, "termhost.reconnects()") != reconnects {
			t.Fatalf("after a takeover the page went on to %q (reconnects %d → %d)", got, reconnects, eval[int](t, alice, "termhost.reconnects()"))
		}
		stdin.Close()
		ssh.Process.Kill()
		ssh.Wait()
		run(t, alice, "reconnect by hand", chromedp.Click(chromedp.CSS(`#status button`)))
		waitPage(t, alice, "back after the takeover", screenHas("hello from chromium again")+` && termhost.state() === "open"`)
	})

	t.Run("paste, in pieces below the frame limit", func(t *testing.T) {
		// 80 KB: more than the server's 64 KiB message limit, so it only
		// arrives whole in term.js's 32 KiB pieces (one message would close
		// the socket with 1009 and the page would reconnect).
		before := eval[int](t, alice, "termhost.reconnects()")
		run(t, alice, "paste", chromedp.Evaluate[chromedp.Void](
			`termhost.term.paste("\n" + "x".repeat(79).concat("\n").repeat(1000) + "END-OF-PASTE")`))
		waitPage(t, alice, "the pasted text", screenHas("END-OF-PASTE")+` && termhost.state() === "open"`)
		if got := eval[int](t, alice, "termhost.reconnects()"); got != before {
			t.Fatalf("the paste cost the page its connection (reconnects %d → %d)", before, got)
		}
		run(t, alice, "type after the paste", typeText("\n"))
	})

	t.Run("an admin kills the session from /admin", func(t *testing.T) {
		root := tab(t, browser)
		signIn(root, "root", "pw-root1")
		id := strings.TrimPrefix(sessionPath, "/s/")
		run(t, root, "open /admin",
			chromedp.Navigate(base+"/admin"),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"] button.danger`, id))),
		)
		// Kill asks first (web trial: one click ended another user's
		// session); the test answers the question and checks it was asked.
		eval[bool](t, root, `(window.confirm = (q) => { sessionStorage.setItem("asked", q); return true; }, true)`)
		run(t, root, "kill from /admin",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"] button.danger`, id))),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
		)
		if asked := eval[string](t, root, `String(sessionStorage.getItem("asked") || "")`); !strings.Contains(asked, "End session") {
			t.Errorf("kill did not ask first (asked %q)", asked)
		}
		flash := get(t, root, "read the result", chromedp.Text(chromedp.CSS(`p.flash`)))
		if !strings.Contains(flash, "killed") {
			t.Fatalf("/admin says %q after kill", flash)
		}
		waitPage(t, alice, "the kill reaches the page", `termhost.state() === "ended" && `+statusHas("killed by root"))
		// The keyboard leaves the terminal for the status line (xterm keeps
		// Tab), and an ended session offers no Reconnect (web trial).
		if got := eval[string](t, alice, `document.activeElement ? document.activeElement.textContent : ""`); got != "Your sessions" {
			t.Errorf("focus after the kill is on %q, want the Your sessions link", got)
		}
		if eval[bool](t, alice, `!!document.querySelector("#status button")`) {
			t.Error("an ended session still offers Reconnect")
		}
	})

	t.Run("a one-time link opens the session and works once", func(t *testing.T) {
		// A link to /s/new (here typed) offers the button; only its POST
		// opens a session.
		run(t, alice, "a new session", chromedp.Navigate(base+"/s/new"), chromedp.Click(chromedp.CSS(newSessionButton)))
		waitPage(t, alice, "the new session", `termhost.state() === "open" && location.pathname !== "/s/new"`)
		path := get(t, alice, "location", chromedp.Location())
		id := path[strings.LastIndex(path, "/s/")+3:]
		out, err := s.sshExec(key, "alice", "weblink", id)
		if err != nil {
			t.Fatalf("ssh weblink: %v\n%s", err, out)
		}
		link := regexp.MustCompile(`http://\S+/link\?t=[A-Za-z0-9_-]+`).FindString(out)
		if link == "" {
			t.Fatalf("ssh weblink printed no link:\n%s", out)
		}
		other := tab(t, browser)
		run(t, other, "open the link", chromedp.Navigate(link))
		waitPage(t, other, "the session by link", `termhost.state() === "open" && location.pathname === "/s/`+id+`" && !location.search.includes("t=")`)
		again := tab(t, browser)
		run(t, again, "open the link again", chromedp.Navigate(link))
		body := get(t, again, "read the page", chromedp.Text(chromedp.CSS("main")))
		if !strings.Contains(body, "used already or has expired") {
			t.Fatalf("a used link opened:\n%s", body)
		}
		if strings.Contains(s.errOut.String(), strings.SplitN(link, "t=", 2)[1]) {
			t.Fatal("the server log holds the link's token")
		}
	})
}
