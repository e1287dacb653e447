package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/argon2"

	"termhost/admin"
	"termhost/auth"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/memory"
	"termhost/seal"
	"termhost/sessions"
	"termhost/tui/apps"
	"termhost/web"
)

// newTicketEnv is a node on a fresh memory store (SPEC §10 --store
// memory) whose web pages get workspace tickets sealed with ring: two of
// them on one ring are a node before and after a restart.
func newTicketEnv(t *testing.T, ring *seal.Ring, users ...string) *env {
	t.Helper()
	e, _ := newTicketEnvStore(t, ring, users...)
	return e
}

// newTicketEnvStore is newTicketEnv that also returns its store.
func newTicketEnvStore(t *testing.T, ring *seal.Ring, users ...string) (*env, *memory.Store) {
	t.Helper()
	ctx := context.Background()
	st := memory.New(nil)
	e := &env{t: t, sleeps: &sleeps{}, clock: &clock{t: time.Now()}, log: &testterm.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.log, nil))
	tickets := web.NewTickets(web.TicketsConfig{Ring: ring, Store: st, Log: log})
	e.mgr = sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry(), Log: log,
		OnSnapshot: tickets.Snapshot})
	if err := e.mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mgr.Shutdown(context.Background(), "test over") })
	e.auth = &auth.Authenticator{Users: st, Sleep: e.sleeps.sleep, Log: log}
	e.web = web.New(web.Config{
		Store: st, Manager: e.mgr, Admin: &admin.Runner{Manager: e.mgr, Audit: st, Now: time.Now},
		Login: func(ctx context.Context, name, password string, remote net.Addr, confirm func(context.Context) error) (persist.User, error) {
			return e.auth.Login(ctx, auth.LoginRequest{Transport: "web", User: name, Password: password, Remote: remote, ConfirmSignup: confirm})
		},
		LoginIdle: time.Hour, LoginMax: 24 * time.Hour, Now: e.clock.Now, Log: log, Tickets: tickets,
	})
	e.ts = httptest.NewServer(e.web)
	t.Cleanup(func() {
		e.web.Close()
		e.ts.Close()
	})
	for _, u := range users {
		// One creation time on every "restart": the same account (as config
		// users on a memory node), which tickets are bound to.
		if err := st.CreateUser(ctx, persist.User{Name: u, Role: persist.RoleUser, PasswordHash: testHash("pw-" + u), CreatedAt: accountCreated}); err != nil {
			t.Fatal(err)
		}
	}
	return e, st
}

// accountCreated is the creation time of the test accounts.
var accountCreated = time.Unix(1_700_000_000, 0).UTC()

// ticketPage is a Go WebSocket client that behaves as term.js: it offers
// a ticket first when it has one and keeps the text frames it receives.
type ticketPage struct {
	t    *testing.T
	ws   *websocket.Conn
	scr  *testterm.Screen
	mu   sync.Mutex
	msgs []map[string]any // guarded by mu
}

func (b *browser) openPage(ref, ticket string) *ticketPage {
	b.t.Helper()
	path := "/s/" + ref + "/ws?cols=80&rows=24"
	if ticket != "" {
		path += "&ticket=1"
	}
	ws, _, err := b.dialRaw(path, b.e.ts.URL)
	if err != nil {
		b.t.Fatalf("dial %s: %v", path, err)
	}
	p := &ticketPage{t: b.t, ws: ws, scr: testterm.New(80, 24)}
	b.t.Cleanup(func() {
		ws.CloseNow()
		p.scr.Close()
	})
	if ticket != "" {
		offer, _ := json.Marshal(map[string]string{"type": "ticket", "ticket": ticket})
		if err := ws.Write(context.Background(), websocket.MessageText, offer); err != nil {
			b.t.Fatal(err)
		}
	}
	go func() {
		for {
			typ, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				p.scr.Write(data)
				continue
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				p.mu.Lock()
				p.msgs = append(p.msgs, m)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// last returns the newest text frame of type typ, waiting for one that
// satisfies ok.
func (p *ticketPage) last(typ string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	var found map[string]any
	waitUntil(p.t, "a "+typ+" frame", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i := len(p.msgs) - 1; i >= 0; i-- {
			if p.msgs[i]["type"] == typ {
				if ok == nil || ok(p.msgs[i]) {
					found = p.msgs[i]
					return true
				}
				return false
			}
		}
		return false
	})
	return found
}

func (p *ticketPage) send(s string) {
	if err := p.ws.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// holding reports whether ticket (of session id) carries text: the test
// opens it with the server's ring, as only the server can.
func holding(ring *seal.Ring, id, text string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		raw, err := ring.Open("workspace:"+id, m["ticket"].(string))
		return err == nil && strings.Contains(string(raw), text)
	}
}

func newTestRing(t *testing.T, now func() time.Time) *seal.Ring {
	t.Helper()
	k, err := seal.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, err := seal.NewRing([]seal.Key{k}, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTicketRestore: a page on a node that lost its memory store comes
// back to its text, cursor and session id from the ticket it kept.
func TestTicketRestore(t *testing.T) {
	ring := newTestRing(t, nil)
	before, st0 := newTicketEnvStore(t, ring, "alice")
	b := before.browser()
	b.mustSignIn("alice", "pw-alice")
	p := b.openPage("new", "")
	id := p.last("session", nil)["id"].(string)
	p.send("kept across restarts")
	p.scr.WaitFor(t, "kept across restarts", wait)
	cx, cy := p.scr.Cursor()
	tk := p.last("ticket", holding(ring, id, "kept across restarts"))
	raw, _ := ring.Open("workspace:"+id, tk["ticket"].(string))
	t.Logf("a one-tab workspace: %d bytes of payload, a ticket of %d characters", len(raw), len(tk["ticket"].(string)))

	after, st := newTicketEnvStore(t, ring, "alice") // the restart: an empty store
	b2 := after.browser()
	b2.mustSignIn("alice", "pw-alice")
	p2 := b2.openPage(id, tk["ticket"].(string))
	if got := p2.last("session", nil)["id"]; got != id {
		t.Fatalf("restored session id %v, want %s", got, id)
	}
	// Its age goes on (max_session_age): the original creation time, not the restore's.
	orig, err := st0.GetSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := st.GetSession(t.Context(), id); err != nil || !rec.CreatedAt.Equal(orig.CreatedAt) {
		t.Errorf("restored session created %v (%v), want the original %v", rec.CreatedAt, err, orig.CreatedAt)
	}
	p2.scr.WaitFor(t, "kept across restarts", wait)
	waitUntil(t, "the cursor where it was", func() bool {
		x, y := p2.scr.Cursor()
		return x == cx && y == cy
	})
	evs, err := st.Events(t.Context(), id)
	if err != nil || !slices.ContainsFunc(evs, func(e persist.Event) bool { return e.Kind == "restored" }) {
		t.Errorf("history of the restored session lacks a restored event: %+v (%v)", evs, err)
	}
	// The restored node sends tickets of its own from then on.
	p2.send(" and after")
	p2.last("ticket", holding(ring, id, "kept across restarts and after"))
}

// TestTicketRefused: tampered, other user's, other session's, older and
// expired tickets are refused with a sentence the page shows; a session
// the node does not have then opens as a fresh workspace (SPEC §10).
func TestTicketRefused(t *testing.T) {
	clk := &clock{t: time.Now()}
	ring := newTestRing(t, clk.Now)
	origin := newTicketEnv(t, ring, "alice")
	b := origin.browser()
	b.mustSignIn("alice", "pw-alice")
	p := b.openPage("new", "")
	id := p.last("session", nil)["id"].(string)
	p.send("one")
	old := p.last("ticket", holding(ring, id, "one"))["ticket"].(string)
	p.send(" two")
	newer := p.last("ticket", holding(ring, id, "one two"))["ticket"].(string)

	tampered := []byte(newer)
	i := len(tampered) / 2
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']

	tests := []struct {
		name    string
		onOrig  bool // offer on the node that still has the session
		user    string
		ref     string
		ticket  string
		advance time.Duration
		want    error
		fresh   bool // a new session, not id
		kill    bool // end the session first
		// recreated: alice was deleted and made again before the restart
		// (another account of that name, issue 12).
		recreated bool
	}{
		{name: "tampered", user: "alice", ref: id, ticket: string(tampered), want: web.ErrTicketInvalid, fresh: true},
		{name: "another user", user: "bob", ref: id, ticket: newer, want: web.ErrTicketUser, fresh: true},
		{name: "another account of the same name", recreated: true, user: "alice", ref: id, ticket: newer, want: web.ErrTicketUser, fresh: true},
		{name: "another session", user: "alice", ref: "zzzzzzzzzzzzzzzzzzzzzzzzzz", ticket: newer, want: web.ErrTicketInvalid, fresh: true},
		{name: "older than the store", onOrig: true, user: "alice", ref: id, ticket: old, want: web.ErrTicketStale},
		{name: "expired", user: "alice", ref: id, ticket: newer, advance: web.DefaultTicketTTL + time.Minute, want: web.ErrTicketExpired, fresh: true},
		// Last: it ends the origin's session.
		{name: "session ended", onOrig: true, kill: true, user: "alice", ref: id, ticket: newer, want: web.ErrTicketEnded, fresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := origin
			switch {
			case tt.recreated:
				var st *memory.Store
				e, st = newTicketEnvStore(t, ring, "bob")
				if err := st.CreateUser(t.Context(), persist.User{Name: "alice", Role: persist.RoleUser, PasswordHash: testHash("pw-alice"),
					CreatedAt: accountCreated.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			case !tt.onOrig:
				e = newTicketEnv(t, ring, "alice", "bob")
			}
			if tt.kill {
				if err := e.mgr.Kill(t.Context(), id, "root"); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(tt.advance)
			defer clk.Add(-tt.advance)
			br := e.browser()
			br.mustSignIn(tt.user, "pw-"+tt.user)
			pg := br.openPage(tt.ref, tt.ticket)
			refused := pg.last("ticket-refused", nil)
			if refused["reason"] != tt.want.Error() {
				t.Errorf("reason %q, want %q", refused["reason"], tt.want.Error())
			}
			got := pg.last("session", nil)["id"]
			if tt.fresh == (got == tt.ref) {
				t.Errorf("session %v after refusal (asked %s), fresh %v wanted", got, tt.ref, tt.fresh)
			}
			if tt.onOrig && !tt.fresh {
				pg.scr.WaitFor(t, "one two", wait) // the store's newer workspace, not the old ticket's
			}
		})
	}
}

// testHash is a real argon2id hash at the smallest parameters
// VerifyPassword accepts (as env.addUser makes).
func testHash(password string) string {
	salt := []byte("web-test-salt-16")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// TestTicketPageForLostSession: with tickets on, /s/{id} of a session the
// node does not have still serves the terminal page (its script offers the
// ticket the browser kept); a name the node does not know is still 404.
func TestTicketPageForLostSession(t *testing.T) {
	e := newTicketEnv(t, newTestRing(t, nil), "alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	tests := []struct {
		name, ref string
		want      int
	}{
		{name: "an id the node lost", ref: "abcdefghijklmnopqrstuvwxyz", want: 200},
		{name: "an unknown name", ref: "notes", want: 404},
		{name: "id-length but not base32", ref: "ABCDEFGHIJKLMNOPQRSTUVWXY1", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.get("/s/" + tt.ref)
			if resp.StatusCode != tt.want {
				t.Fatalf("GET /s/%s: %d, want %d\n%s", tt.ref, resp.StatusCode, tt.want, body)
			}
			if tt.want == 200 && !strings.Contains(body, `data-ref="`+tt.ref+`"`) {
				t.Fatalf("the terminal page does not open %s:\n%s", tt.ref, body)
			}
		})
	}
}
