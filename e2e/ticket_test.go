package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"termhost/auth"
	"termhost/seal"
)

// TestWebTicketsMemoryStore: on `--store memory` the browser keeps its
// workspace as a sealed ticket (SPEC §10). Notes typed before a restart
// come back with their cursor after it, though the server kept nothing; a
// ticket altered in browser storage is refused with a sentence on the
// page and a fresh workspace.
func TestWebTicketsMemoryStore(t *testing.T) {
	browser := newBrowser(t)
	key, err := seal.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewRing([]seal.Key{key}, nil) // the test reads tickets as only the server can
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword("pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "termhost.yaml")
	cfgText := fmt.Sprintf("store: memory\nallow_signup: false\nweb_login: client\nseal_keys: [%q]\nusers:\n  - name: alice\n    password_hash: %q\n",
		seal.FormatKey(key), hash)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "data") // never created: nothing is written
	httpAddr := freePort(t)
	s := startServer(t, dataDir, "--config", cfgPath, "--http-addr", httpAddr)
	base := "http://" + httpAddr
	alice := tab(t, browser)

	// signedIn ends on the terminal page of path, signing in on the way
	// when the server asks; signIns counts how often it did. Under
	// web_login: client the sealed cookie outlives the restart, so only the
	// first visit signs in.
	signIns := 0
	signedIn := func(path string) {
		t.Helper()
		run(t, alice, "open "+path, chromedp.Navigate(base+path))
		waitPage(t, alice, "the terminal or the sign-in form", `document.getElementById("user") || (window.termhost && termhost.state() === "open")`)
		if eval[bool](t, alice, `!!document.getElementById("user")`) {
			signIns++
			run(t, alice, "sign in",
				chromedp.SendKeys(chromedp.ID("user"), "alice"),
				chromedp.SendKeys(chromedp.ID("password"), "pw-alice"),
				chromedp.Submit(chromedp.ID("password")))
		}
	}
	// ticketHolds reports whether the page's stored ticket for id carries
	// text.
	ticketHolds := func(id, text string) bool {
		stored, err := chromedp.Run(alice, chromedp.Evaluate[string](`localStorage.getItem("termhost.ticket.`+id+`") || ""`))
		if err != nil || stored == "" {
			return false
		}
		var tk struct{ Ticket string }
		if json.Unmarshal([]byte(stored), &tk) != nil {
			return false
		}
		raw, err := ring.Open("workspace:"+id, tk.Ticket)
		return err == nil && strings.Contains(string(raw), text)
	}
	waitTicket := func(id, text string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ticketHolds(id, text) {
			if time.Now().After(deadline) {
				t.Fatalf("no ticket holding %q in browser storage", text)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	signedIn("/s/new")
	run(t, alice, "open a new session", chromedp.Click(chromedp.CSS(newSessionButton)))
	waitPage(t, alice, "the workspace", screenHas("alice")+` && termhost.state() === "open"`)
	run(t, alice, "type into Notes", typeText("kept by the browser"))
	waitPage(t, alice, "typed text", screenHas("kept by the browser"))
	loc := get(t, alice, "location", chromedp.Location())
	path := loc[strings.Index(loc, "/s/"):]
	id := strings.TrimPrefix(path, "/s/")
	waitTicket(id, "kept by the browser")
	cursor := eval[map[string]int](t, alice, "termhost.cursor()")

	t.Run("restart, reload: the same text and cursor", func(t *testing.T) {
		s.stop()
		s.restart()
		signedIn(path)
		waitPage(t, alice, "the restored workspace", screenHas("kept by the browser")+` && termhost.state() === "open"`)
		waitPage(t, alice, "the cursor where it was", fmt.Sprintf("termhost.cursor().x === %d && termhost.cursor().y === %d", cursor["x"], cursor["y"]))
		if got := get(t, alice, "location", chromedp.Location()); !strings.HasSuffix(got, path) {
			t.Fatalf("restored at %s, want %s", got, path)
		}
		if signIns != 1 {
			t.Errorf("signed in %d times; the sealed login cookie should have outlived the restart", signIns)
		}
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Fatalf("the memory store made its data dir: %v", err)
		}
	})

	t.Run("a tampered ticket: refused, said so, fresh workspace", func(t *testing.T) {
		s.stop()
		// One character of the stored ticket changes while the server is down.
		eval[bool](t, alice, `(() => {
			const k = "termhost.ticket.`+id+`", v = JSON.parse(localStorage.getItem(k));
			const i = v.ticket.length >> 1;
			v.ticket = v.ticket.slice(0, i) + (v.ticket[i] === "A" ? "B" : "A") + v.ticket.slice(i + 1);
			localStorage.setItem(k, JSON.stringify(v));
			return true;
		})()`)
		s.restart()
		signedIn(path)
		waitPage(t, alice, "the refusal", statusHas("could not be used"))
		waitPage(t, alice, "a fresh workspace", `termhost.state() === "open" && `+screenHas("alice")+` && !(`+screenHas("kept by the browser")+`)`)
		if got := get(t, alice, "location", chromedp.Location()); strings.HasSuffix(got, path) {
			t.Fatalf("still at %s after the refusal, want a new session", got)
		}
		if eval[bool](t, alice, `localStorage.getItem("termhost.ticket.`+id+`") !== null`) {
			t.Fatal("the refused ticket is still in browser storage")
		}
	})
}
