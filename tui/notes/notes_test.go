package notes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"termhost/tui"
	"termhost/tui/notes"
)

// fakeDocs is an in-memory tui.Docs with the store's conditional saves.
type fakeDocs struct {
	docs map[string]tui.Doc
	n    int
}

func newFakeDocs() *fakeDocs { return &fakeDocs{docs: map[string]tui.Doc{}} }

func (f *fakeDocs) Create(_ context.Context, title, body string) (tui.Doc, error) {
	f.n++
	d := tui.Doc{ID: fmt.Sprintf("doc%d", f.n), Title: title, Body: body, Version: 1}
	f.docs[d.ID] = d
	return d, nil
}

func (f *fakeDocs) Get(_ context.Context, id string) (tui.Doc, error) {
	d, ok := f.docs[id]
	if !ok {
		return d, fmt.Errorf("document %s: not found", id)
	}
	return d, nil
}

func (f *fakeDocs) List(context.Context) ([]tui.Doc, error) { return nil, nil }

func (f *fakeDocs) Save(_ context.Context, d tui.Doc) (tui.Doc, error) {
	cur, ok := f.docs[d.ID]
	if !ok || cur.Version != d.Version {
		return d, tui.ErrConflict
	}
	d.Version++
	f.docs[d.ID] = d
	return d, nil
}

func (f *fakeDocs) Delete(_ context.Context, id string) error { delete(f.docs, id); return nil }

// runner is a tui.Env.Run for one app driven by a test: commands queue
// and drain runs them in order and hands each result to the app, as the
// session does once the store answered.
type runner struct{ cmds []tea.Cmd }

func (r *runner) run(cmd tea.Cmd) { r.cmds = append(r.cmds, cmd) }

func (r *runner) drain(app tui.App) {
	for i := 0; len(r.cmds) > 0 && i < 1000; i++ {
		cmd := r.cmds[0]
		r.cmds = r.cmds[1:]
		if msg := cmd(); msg != nil {
			app.Update(msg)
		}
	}
}

// pad is a Notes tab with its environment, drawn at w×h.
type pad struct {
	t       *testing.T
	app     tui.App
	docs    *fakeDocs
	run     runner
	notices []string
	w, h    int
}

func newPad(t *testing.T, w, h int) *pad {
	p := &pad{t: t, docs: newFakeDocs(), w: w, h: h}
	env := tui.Env{User: "alice", Docs: p.docs, Notify: func(m string) { p.notices = append(p.notices, m) }, Run: p.run.run}
	p.app = notes.Kind().New(env, "")
	p.app.View(w, h)
	return p
}

// keys feeds raw terminal input, decoded as the session layer does.
func (p *pad) keys(raw string) *pad {
	var dec uv.EventDecoder
	buf := []byte(raw)
	for len(buf) > 0 {
		n, ev := dec.Decode(buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		if k, ok := ev.(uv.KeyPressEvent); ok {
			p.app.Update(tea.KeyPressMsg(k))
			p.run.drain(p.app)
			p.app.View(p.w, p.h) // as the session draws after every batch
		}
	}
	return p
}

type noteState struct {
	Doc     string `json:"doc"`
	Body    string `json:"body"`
	Version int64  `json:"version"`
	Dirty   bool   `json:"dirty"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Top     int    `json:"top"`
}

func (p *pad) state() noteState {
	p.t.Helper()
	raw, err := p.app.State()
	if err != nil {
		p.t.Fatal(err)
	}
	var s noteState
	if err := json.Unmarshal(raw, &s); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// cursor is the on-screen cursor cell.
func (p *pad) cursor() (int, int) {
	_, c := p.app.View(p.w, p.h)
	if c == nil {
		p.t.Fatal("Notes hid the cursor")
	}
	return c.X, c.Y
}

const (
	left, right, up, down = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"
	home, end             = "\x1b[H", "\x1b[F"
	pgup, pgdn            = "\x1b[5~", "\x1b[6~"
	del, bs               = "\x1b[3~", "\x7f"
	wordLeft, wordRight   = "\x1b[1;5D", "\x1b[1;5C"
)

func TestEditing(t *testing.T) {
	tests := []struct {
		name     string
		keys     string
		body     string
		row, col int
	}{
		{name: "insert", keys: "abc", body: "abc", col: 3},
		{name: "newline", keys: "ab\rcd", body: "ab\ncd", row: 1, col: 2},
		{name: "split a line", keys: "abcd" + left + left + "\r", body: "ab\ncd", row: 1},
		{name: "backspace", keys: "abc" + bs, body: "ab", col: 2},
		{name: "backspace joins lines", keys: "ab\rcd" + home + bs, body: "abcd", col: 2},
		{name: "backspace at the start does nothing", keys: "ab" + home + bs, body: "ab"},
		{name: "ctrl+h is backspace", keys: "ab\x08", body: "a", col: 1},
		{name: "delete", keys: "abcd" + home + del, body: "bcd"},
		{name: "delete joins the next line", keys: "ab\rcd" + up + end + del, body: "abcd", col: 2},
		{name: "delete at the very end does nothing", keys: "ab" + del, body: "ab", col: 2},
		{name: "left wraps to the previous line", keys: "ab\rcd" + home + left, body: "ab\ncd", col: 2},
		{name: "right wraps to the next line", keys: "ab\rcd" + up + end + right, body: "ab\ncd", row: 1},
		{name: "up keeps the goal column", keys: "abcdef\rx\rabcdef" + left + up + up, body: "abcdef\nx\nabcdef", col: 5},
		{name: "down clamps to a short line", keys: "abcdef\rx" + up + end + down, body: "abcdef\nx", row: 1, col: 1},
		{name: "home and end", keys: "abc" + home + "X" + end + "Y", body: "XabcY", col: 5},
		{name: "ctrl+a and ctrl+e", keys: "abc\x01X\x05Y", body: "XabcY", col: 5},
		{name: "word left", keys: "one two  three" + wordLeft + wordLeft, body: "one two  three", col: 4},
		{name: "word right", keys: "one two three" + home + wordRight + wordRight, body: "one two three", col: 8},
		{name: "alt+b and alt+f", keys: "one two" + "\x1bb" + "\x1bb" + "\x1bf", body: "one two", col: 4},
		{name: "word left at line start goes up", keys: "ab\rcd" + home + wordLeft, body: "ab\ncd", col: 2},
		{name: "tab inserts spaces", keys: "\tx", body: "    x", col: 5},
		{name: "control keys insert nothing", keys: "a\x07\x0bb", body: "ab", col: 2},
		{name: "wide characters count as one column each", keys: "中文x" + left + "y", body: "中文yx", col: 3},
		{name: "emoji", keys: "😀a" + home + right + "b", body: "😀ba", col: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPad(t, 40, 10).keys(tt.keys).state()
			if s.Body != tt.body || s.Row != tt.row || s.Col != tt.col {
				t.Errorf("body %q at (%d,%d), want %q at (%d,%d)", s.Body, s.Row, s.Col, tt.body, tt.row, tt.col)
			}
		})
	}
}

// The on-screen cursor counts cells: wide characters take two.
func TestCursorCellWithWideChars(t *testing.T) {
	tests := []struct {
		name     string
		width    int
		keys     string
		wantX    int
		wantY    int
		wantLine string // the cursor's row as drawn
	}{
		{name: "ascii", width: 40, keys: "abc", wantX: 3},
		{name: "cjk", width: 40, keys: "中文", wantX: 4},
		{name: "cjk then left", width: 40, keys: "中文" + left, wantX: 2},
		{name: "emoji", width: 40, keys: "a😀b", wantX: 4},
		{name: "mixed after home and right", width: 40, keys: "中a文" + home + right + right, wantX: 3},
		{name: "wraps before a wide char that would straddle", width: 21, keys: strings.Repeat("中", 11), wantX: 2, wantY: 1, wantLine: "中"},
		{name: "cursor at a full row goes to the next", width: 20, keys: strings.Repeat("中", 10), wantX: 0, wantY: 1},
		{name: "long ascii wraps", width: 20, keys: strings.Repeat("x", 25), wantX: 5, wantY: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPad(t, tt.width, 10).keys(tt.keys)
			x, y := p.cursor()
			if x != tt.wantX || y != tt.wantY {
				t.Errorf("cursor (%d,%d), want (%d,%d)", x, y, tt.wantX, tt.wantY)
			}
			view, _ := p.app.View(tt.width, 10)
			lines := strings.Split(view, "\n")
			for i, l := range lines {
				if w := ansi.StringWidthWc(l); w > tt.width {
					t.Errorf("row %d is %d cells, want ≤ %d", i, w, tt.width)
				}
			}
			if tt.wantLine != "" && lines[y] != tt.wantLine {
				t.Errorf("cursor row = %q, want %q", lines[y], tt.wantLine)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	var doc strings.Builder
	for i := range 100 {
		fmt.Fprintf(&doc, "line %d\r", i)
	}
	p := newPad(t, 40, 10).keys(doc.String() + "last")
	for range 20 {
		p.keys(pgup)
	}
	if s := p.state(); s.Row != 0 || s.Top != 0 {
		t.Fatalf("after many pgup: row %d top %d, want 0 0", s.Row, s.Top)
	}
	p.keys(pgdn)
	s := p.state()
	if s.Row != 9 {
		t.Errorf("pgdn moved to row %d, want 9 (a page is the height less one)", s.Row)
	}
	view, cur := p.app.View(40, 10)
	if lines := strings.Split(view, "\n"); lines[cur.Y] != "line 9" {
		t.Errorf("cursor on %q, want line 9; view:\n%s", lines[cur.Y], view)
	}
	p.keys(pgdn + pgdn + pgup)
	if s := p.state(); s.Row != 18 {
		t.Errorf("pgdn pgdn pgup: row %d, want 18", s.Row)
	}
	for range 20 {
		p.keys(pgdn)
	}
	if s := p.state(); s.Row != 100 {
		t.Errorf("after many pgdn: row %d, want the last line 100", s.Row)
	}
	view, cur = p.app.View(40, 10)
	if lines := strings.Split(view, "\n"); lines[cur.Y] != "last" {
		t.Errorf("cursor on %q at the end, want the last line; view:\n%s", lines[cur.Y], view)
	}
}

func TestPaste(t *testing.T) {
	p := newPad(t, 40, 10)
	p.app.Update(tea.PasteMsg{Content: "one\ntwo"})
	if s := p.state(); s.Body != "one\ntwo" || s.Row != 1 || s.Col != 3 || !s.Dirty {
		t.Errorf("after paste: %+v", s)
	}
}

func TestSave(t *testing.T) {
	p := newPad(t, 40, 10).keys("draft")
	if got := p.app.Title(); got != "untitled*" {
		t.Fatalf("title = %q, want the unsaved marker", got)
	}
	p.keys("\x13") // ctrl+s
	s := p.state()
	if p.app.Title() != "untitled" || s.Dirty || s.Doc == "" {
		t.Fatalf("after ctrl+s: title %q, state %+v; want saved", p.app.Title(), s)
	}
	if d := p.docs.docs[s.Doc]; d.Body != "draft" {
		t.Errorf("stored body = %q, want draft", d.Body)
	}
	if got := p.app.Documents(); len(got) != 1 || got[0] != s.Doc {
		t.Errorf("Documents() = %v, want [%s]", got, s.Doc)
	}
	p.keys(" two\x13")
	if d := p.docs.docs[s.Doc]; d.Body != "draft two" || d.Version != 2 {
		t.Errorf("second save stored %+v, want version 2", d)
	}
	if last := p.notices[len(p.notices)-1]; last != "saved untitled" {
		t.Errorf("notice = %q", last)
	}
}

func TestSaveConflict(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		wantBody string // of the tab afterwards
		wantDoc  string // stored body of the original document
		wantNote string
	}{
		{name: "reload", answer: "r", wantBody: "theirs", wantDoc: "theirs", wantNote: "reloaded"},
		{name: "overwrite", answer: "o", wantBody: "mine", wantDoc: "mine", wantNote: "saved"},
		{name: "save a copy", answer: "s", wantBody: "mine", wantDoc: "theirs", wantNote: "saved as untitled (copy)"},
		{name: "cancel", answer: "\x1b", wantBody: "mine", wantDoc: "theirs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPad(t, 80, 10).keys("\x13")
			id := p.state().Doc
			d := p.docs.docs[id]
			d.Body, d.Version = "theirs", d.Version+1 // another session saved
			p.docs.docs[id] = d
			p.keys("mine\x13")
			if last := p.notices[len(p.notices)-1]; !strings.Contains(last, "changed elsewhere") {
				t.Fatalf("notice = %q, want a conflict message", last)
			}
			if view, _ := p.app.View(80, 10); !strings.Contains(view, "r reload") {
				t.Fatalf("no conflict choices on screen:\n%s", view)
			}
			p.keys(tt.answer)
			if s := p.state(); s.Body != tt.wantBody {
				t.Errorf("tab body = %q, want %q", s.Body, tt.wantBody)
			}
			if got := p.docs.docs[id].Body; got != tt.wantDoc {
				t.Errorf("stored body = %q, want %q", got, tt.wantDoc)
			}
			if tt.wantNote != "" && !strings.Contains(p.notices[len(p.notices)-1], tt.wantNote) {
				t.Errorf("notice = %q, want %q", p.notices[len(p.notices)-1], tt.wantNote)
			}
			if view, _ := p.app.View(80, 10); strings.Contains(view, "r reload") {
				t.Errorf("conflict choices still shown after answering")
			}
		})
	}
}

func TestOpenAndRestore(t *testing.T) {
	docs := newFakeDocs()
	d, _ := docs.Create(context.Background(), "plan", "a\nb")
	var run runner
	env := tui.Env{User: "alice", Docs: docs, Run: run.run}
	app := notes.Kind().New(env, d.ID)
	if v, _ := app.View(30, 5); app.Title() != "loading…" || v != "loading…" {
		t.Errorf("before the document arrives: title %q, view %q; want loading…", app.Title(), v)
	}
	run.drain(app)
	if app.Title() != "plan" {
		t.Errorf("title = %q, want plan", app.Title())
	}
	raw, _ := app.State()
	back, err := notes.Kind().Restore(env, notes.Version, raw)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := app.View(30, 5)
	if v2, _ := back.View(30, 5); v1 != v2 {
		t.Errorf("restored view differs:\n%s\n--\n%s", v1, v2)
	}
	var notices []string
	env.Notify = func(m string) { notices = append(notices, m) }
	missing := notes.Kind().New(env, "nope")
	run.drain(missing)
	if missing.Title() != "untitled" || len(notices) == 0 || !strings.Contains(notices[0], "cannot open") {
		t.Errorf("opening a missing document: title %q, notices %v", missing.Title(), notices)
	}
}
