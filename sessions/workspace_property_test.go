package sessions

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/tui"
	"termhost/tui/apps"
)

// propClock is a fixed clock: the property test needs no time to pass.
type propClock struct{ t time.Time }

func (c propClock) Now() time.Time                        { return c.t }
func (c propClock) AfterFunc(time.Duration, func()) Timer { return propTimer{} }
func (propTimer) Stop() bool                              { return true }
func propKey(code rune, text string, mod tea.KeyMod) tea.Msg {
	return tea.KeyPressMsg{Code: code, Text: text, Mod: mod}
}

type propTimer struct{}

// propScreen renders a workspace the way a client sees it: through the
// ultraviolet renderer into the x/vt terminal emulator.
func propScreen(t *testing.T, ws *tui.Workspace, w, h int) string {
	t.Helper()
	var out bytes.Buffer
	r := uv.NewTerminalRenderer(&out, []string{"TERM=xterm-256color"})
	r.SetFullscreen(true)
	r.SetRelativeCursor(false)
	r.Resize(w, h)
	r.Erase()
	buf := uv.NewScreenBuffer(w, h)
	content, cur := ws.View(w, h)
	uv.NewStyledString(content).Draw(buf, buf.Bounds())
	r.Render(buf.RenderBuffer)
	if cur != nil {
		r.MoveTo(cur.X, cur.Y)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	em := vt.NewEmulator(w, h)
	if _, err := em.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	pos := em.CursorPosition()
	return fmt.Sprintf("%s\ncursor %d,%d", em.Render(), pos.X, pos.Y)
}

var propWords = []string{"hello", "wörld", "日本語", "emoji🙂", "x", "a b c", "tab\there", "long-line-" + strings.Repeat("z", 90)}

// propKeys returns a random but meaningful key: text, moves, prefix keys
// that open/switch/close tabs, app keys, saves, new documents.
func propKeys(r *rand.Rand) []tea.Msg {
	ctrlB := propKey('b', "", tea.ModCtrl)
	switch r.IntN(17) {
	case 0, 1, 2, 3:
		return propText(propWords[r.IntN(len(propWords))])
	case 4:
		return []tea.Msg{propKey(tea.KeyEnter, "", 0)}
	case 5:
		return []tea.Msg{propKey([]rune{tea.KeyLeft, tea.KeyRight, tea.KeyUp, tea.KeyDown, tea.KeyHome, tea.KeyEnd, tea.KeyPgUp, tea.KeyPgDown}[r.IntN(8)], "", 0)}
	case 6:
		return []tea.Msg{propKey(tea.KeyBackspace, "", 0)}
	case 7: // new tab of a random app
		return []tea.Msg{ctrlB, propKey('c', "c", 0), propKey(rune('1'+r.IntN(6)), string(rune('1'+r.IntN(6))), 0)}
	case 8:
		return []tea.Msg{ctrlB, propKey('n', "n", 0)}
	case 9:
		return []tea.Msg{ctrlB, propKey('p', "p", 0)}
	case 10:
		if r.IntN(4) == 0 {
			return []tea.Msg{ctrlB, propKey('x', "x", 0)}
		}
		return nil
	case 11:
		return []tea.Msg{propKey(tea.KeyLeft, "", tea.ModCtrl)}
	case 12:
		return []tea.Msg{propKey(tea.KeyDown, "", 0), propKey(tea.KeyDown, "", 0)}
	case 13: // ctrl+s: Notes saves (and answers a conflict with a letter later)
		return []tea.Msg{propKey('s', "", tea.ModCtrl)}
	case 14: // Documents: a new document; elsewhere, text
		return append(propText("n"+propWords[r.IntN(3)]), propKey(tea.KeyEnter, "", 0))
	case 15: // a conflict's answers, Documents' reload
		return propText(string("rosR"[r.IntN(4)]))
	default:
		return []tea.Msg{propKey(tea.KeyTab, "", 0)}
	}
}

func propText(s string) []tea.Msg {
	var out []tea.Msg
	for _, ch := range s {
		out = append(out, propKey(ch, string(ch), 0))
	}
	return out
}

// propWorld is a store seeded like every other propWorld, with a manager.
type propWorld struct {
	store *sqlite.Store
	m     *Manager
}

var propTime = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func newPropWorld(t *testing.T, name string) propWorld {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for i, text := range []string{"hi all", "日本語 ok", "second"} {
		if _, err := store.PostChat(ctx, persist.ChatMessage{Room: "#lobby", User: fmt.Sprint("u", i), Text: text, At: propTime}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreateDocument(ctx, persist.Document{Owner: "prop", Title: "plan", Body: "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Store: store, Clock: propClock{propTime}, Registry: apps.Registry(), Node: "prop"})
	if err := m.relay.start(ctx, m); err != nil {
		t.Fatal(err)
	}
	return propWorld{store: store, m: m}
}

// step drives keys into ws, then delivers posted chat as the hub would.
func (pw propWorld) step(ws drivenWS, keys []tea.Msg) {
	for _, k := range keys {
		if ws.Update(k) != tui.ActNone {
			break
		}
	}
	pw.m.relayOnce(context.Background()) // chat reaches sessions through the relay
	pw.m.chat.mu.Lock()
	queued := pw.m.chat.queue
	pw.m.chat.queue = nil
	pw.m.chat.mu.Unlock()
	for _, item := range queued {
		ws.Update(item.msg) // every item is for this user or everyone
	}
}

// effects is what the store holds that the user made: documents (their
// ids are random, so not compared) and chat.
func (pw propWorld) effects(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	docs, err := pw.store.ListDocuments(ctx, "prop")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		out = append(out, fmt.Sprintf("doc %q v%d %q", d.Title, d.Version, d.Body))
	}
	slices.Sort(out)
	chat, err := pw.store.ChatHistory(ctx, "#lobby", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chat {
		out = append(out, fmt.Sprintf("chat %d %s %s: %q", c.Seq, c.Room, c.User, c.Text))
	}
	return strings.Join(out, "\n")
}

// sortedDocs lists documents by content: two documents of one title are
// listed by their random ids in the store, which twins in two stores do
// not share.
type sortedDocs struct{ tui.Docs }

func (d sortedDocs) List(ctx context.Context) ([]tui.Doc, error) {
	list, err := d.Docs.List(ctx)
	slices.SortStableFunc(list, func(a, b tui.Doc) int {
		return strings.Compare(fmt.Sprintf("%s\x00%s\x00%d", a.Title, a.Body, a.Version), fmt.Sprintf("%s\x00%s\x00%d", b.Title, b.Body, b.Version))
	})
	return list, err
}

// propWS is u's new workspace in pw (documents listed by content).
func (pw propWorld) newWS(u User) drivenWS {
	q := &syncRun{}
	env := pw.m.testEnv(u, q)
	env.Docs = sortedDocs{env.Docs}
	w := drivenWS{tui.New(pw.m.reg, env), q}
	q.drain(w.Workspace)
	return w
}

func (pw propWorld) restore(u User, data []byte) (drivenWS, error) {
	q := &syncRun{}
	env := pw.m.testEnv(u, q)
	env.Docs = sortedDocs{env.Docs}
	ws, err := tui.Restore(pw.m.reg, env, data)
	if err != nil {
		return drivenWS{}, err
	}
	q.drain(ws)
	return drivenWS{ws, q}, nil
}

// TestRestoreRendersIdenticalScreen is issue 3's property: for random
// workspaces, Restore(Snapshot) renders the identical screen at the same
// size, and both stay identical (screen and state) after a resize.
func TestRestoreRendersIdenticalScreen(t *testing.T) {
	pw := newPropWorld(t, "prop")
	u := User{Name: "prop", Admin: true}
	sizes := [][2]int{{80, 24}, {20, 5}, {132, 40}, {33, 9}}
	for seed := range uint64(150) {
		r := rand.New(rand.NewPCG(seed, 7))
		ws := pw.newWS(u)
		ws.SessionName = "p"
		for range 10 + r.IntN(80) {
			pw.step(ws, propKeys(r))
		}
		size := sizes[r.IntN(len(sizes))]
		ws.View(size[0], size[1]) // the size the user last saw, as a session would
		data, err := ws.Snapshot()
		if err != nil {
			t.Fatalf("seed %d: snapshot: %v", seed, err)
		}
		restored, err := pw.restore(u, data)
		if err != nil {
			t.Fatalf("seed %d: restore: %v\n%s", seed, err, data)
		}
		restored.SessionName = "p"
		restored.Notice = ws.Notice // a notice lasts until the next key; it is not state
		want, got := propScreen(t, ws.Workspace, size[0], size[1]), propScreen(t, restored.Workspace, size[0], size[1])
		if want != got {
			t.Fatalf("seed %d at %dx%d: restored screen differs\nwant:\n%s\ngot:\n%s\nstate: %s", seed, size[0], size[1], want, got, data)
		}
		next := sizes[r.IntN(len(sizes))]
		want, got = propScreen(t, ws.Workspace, next[0], next[1]), propScreen(t, restored.Workspace, next[0], next[1])
		if want != got {
			t.Fatalf("seed %d resized to %dx%d: screens differ\nwant:\n%s\ngot:\n%s", seed, next[0], next[1], want, got)
		}
		a, _ := ws.Snapshot()
		b, _ := restored.Snapshot()
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: state differs after resize\n%s\n%s", seed, a, b)
		}
	}
}

// TestRestoredTwinBehavesAlike is issue 8's property: a restored workspace
// is indistinguishable from one never restored. Two identical stores; the
// same random keys go into a workspace in each; the second is snapshotted
// and restored; then the same random keys go into the restored one and its
// never-restored twin, and their screens and what they did to their stores
// (documents created and saved, chat posted) must stay equal. Apps that a
// restore built with a different environment (issue 8: Documents' Enter
// and ctrl+s's "saved" did nothing, Documents' new-document prompt
// panicked) make them differ.
func TestRestoredTwinBehavesAlike(t *testing.T) {
	u := User{Name: "prop", Admin: true}
	sizes := [][2]int{{80, 24}, {20, 5}, {132, 40}, {33, 9}}
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 8))
		never, twin := newPropWorld(t, fmt.Sprint("never", seed)), newPropWorld(t, fmt.Sprint("twin", seed))
		n, before := never.newWS(u), twin.newWS(u)
		n.SessionName, before.SessionName = "p", "p"
		for range 5 + r.IntN(40) {
			keys := propKeys(r)
			never.step(n, keys)
			twin.step(before, keys)
		}
		data, err := before.Snapshot()
		if err != nil {
			t.Fatalf("seed %d: snapshot: %v", seed, err)
		}
		restored, err := twin.restore(u, data)
		if err != nil {
			t.Fatalf("seed %d: restore: %v\n%s", seed, err, data)
		}
		restored.SessionName = "p"
		restored.Notice = n.Notice // a notice lasts until the next key; it is not state
		size := sizes[r.IntN(len(sizes))]
		var trail []string
		for i := range 10 + r.IntN(60) {
			keys := propKeys(r)
			trail = append(trail, fmt.Sprint(keys))
			never.step(n, keys)
			twin.step(restored, keys)
			want, _ := n.View(size[0], size[1])
			got, _ := restored.View(size[0], size[1])
			if want != got {
				t.Fatalf("seed %d, key %d after restore at %dx%d: screens differ\nnever restored:\n%s\nrestored:\n%s\nkeys after restore: %v",
					seed, i, size[0], size[1], ansi.Strip(want), ansi.Strip(got), trail)
			}
		}
		if want, got := propScreen(t, n.Workspace, size[0], size[1]), propScreen(t, restored.Workspace, size[0], size[1]); want != got {
			t.Fatalf("seed %d: final screens differ\nnever restored:\n%s\nrestored:\n%s", seed, want, got)
		}
		if want, got := never.effects(t), twin.effects(t); want != got {
			t.Fatalf("seed %d: store effects differ\nnever restored:\n%s\nrestored:\n%s\nkeys after restore: %v", seed, want, got, trail)
		}
	}
}
