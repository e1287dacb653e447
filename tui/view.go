package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// MinWidth and MinHeight are the smallest terminal the workspace draws in.
const (
	MinWidth  = 20
	MinHeight = 5
)

var (
	barStyle      = lipgloss.NewStyle().Reverse(true)
	activeTab     = lipgloss.NewStyle().Bold(true).Underline(true)
	unreadStyle   = lipgloss.NewStyle().Bold(true)
	warnStyle     = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("11"))
	overlayBorder = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
)

// View renders the whole screen at width×height and says where the cursor goes.
func (w *Workspace) View(width, height int) (string, *Cursor) {
	if width < MinWidth || height < MinHeight {
		return tooSmall(width, height), nil
	}
	bodyH := height - 2
	var body string
	var cur *Cursor
	if t := w.focused(); t != nil {
		if !w.guard(t, "", "view", func() { body, cur = t.app.View(width, bodyH) }) {
			body, cur = t.app.View(width, bodyH) // the crashedApp now in its place
		}
	} else {
		body = "No tabs open. Press ctrl+b c (or enter) to open an app."
	}
	if w.overlay != overlayNone {
		body, cur = w.overlayView(width, bodyH), nil
	}
	lines := make([]string, 0, height)
	lines = append(lines, w.bars[0].fit(w.tabBar(), width, barStyle))
	lines = append(lines, fitBlock(body, width, bodyH)...)
	lines = append(lines, w.bars[1].fit(w.statusBar(width), width, barStyle))
	if cur != nil {
		cur = &Cursor{X: cur.X, Y: cur.Y + 1}
	}
	return strings.Join(lines, "\n"), cur
}

func tooSmall(width, height int) string {
	msg := fmt.Sprintf("terminal too small (%dx%d, need %dx%d)", width, height, MinWidth, MinHeight)
	if width <= 0 || height <= 0 {
		return ""
	}
	return ansi.Wrap(msg, width, "")
}

func (w *Workspace) tabBar() string {
	titles := make([]string, len(w.tabs))
	for i, t := range w.tabs {
		w.guard(t, "", "title", func() { titles[i] = t.app.Title() })
	}
	m := &w.tabMemo
	if m.out != "" && m.focus == w.focus && slices.Equal(m.titles, titles) {
		return m.out // styling the focused label was an eighth of a key's CPU
	}
	var b strings.Builder
	for i, title := range titles {
		label := fmt.Sprintf(" %d:%s ", i+1, Printable(title))
		if i == w.focus {
			label = activeTab.Render(label)
		}
		b.WriteString(label)
	}
	m.titles, m.focus, m.out = titles, w.focus, b.String()
	return m.out
}

// tabMemo is the tab bar last drawn and what it was drawn from.
type tabMemo struct {
	titles []string
	focus  int
	out    string
}

func (w *Workspace) statusBar(width int) string {
	left := fmt.Sprintf(" %s · %s", Printable(w.env.User), Printable(w.SessionName))
	if n := w.Unread(); n > 0 {
		left += " · " + unreadStyle.Render(fmt.Sprintf("chat %d", n))
	}
	if w.prefix {
		left += " · ^B"
	}
	right := "ctrl+b ? help "
	switch {
	case w.IdleWarning != "":
		right = warnStyle.Render(w.IdleWarning) + " "
	case w.Notice != "":
		right = Printable(w.Notice) + " "
	}
	gap := width - Width(left) - Width(right)
	if gap < 1 {
		return ansi.TruncateWc(right, width, "…")
	}
	return left + strings.Repeat(" ", gap) + right
}

func (w *Workspace) overlayView(width, height int) string {
	var lines []string
	switch w.overlay {
	case overlayQuit:
		lines = []string{"End this session?", "", "y: end it (the workspace is kept", "   for your next session)", "any other key: cancel"}
	case overlayClose:
		lines = w.closeLines()
	case overlayHelp:
		lines = helpLines()
	case overlayChooser:
		lines = []string{"Open a new tab:"}
		for i, k := range w.reg.Kinds(w.env.Admin) {
			mark := "  "
			if i == w.choice {
				mark = "> "
			}
			lines = append(lines, fmt.Sprintf("%s%d %s", mark, i+1, k.Title))
		}
	}
	box := overlayBorder.Render(strings.Join(lines, "\n"))
	if lipgloss.Width(box) > width || lipgloss.Height(box) > height {
		box = strings.Join(lines, "\n")
	}
	return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, box)
}

func helpLines() []string {
	var out []string
	for _, g := range KeyGroups()[:2] {
		for _, b := range g.Keys {
			h := b.Help()
			out = append(out, fmt.Sprintf("%-11s %s", h.Key, h.Desc))
		}
	}
	return append(out, "", "any key: close")
}

// fit pads or truncates one line to exactly width cells.
func fit(s string, width int, style lipgloss.Style) string {
	s = truncate(s, width)
	if pad := width - Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return style.Render(s)
}

// barMemo remembers one bar's last fit: the tab and status bars rarely
// change between keys, and styling them (lipgloss) was a quarter of a
// key's CPU (BENCHMARKS "Web terminal").
type barMemo struct {
	in    string
	width int
	out   string
}

// fit is fit(s, width, style), from the memo when s and width are the
// last ones; one memo serves one call site (one style).
func (m *barMemo) fit(s string, width int, style lipgloss.Style) string {
	if m.out == "" || m.in != s || m.width != width {
		m.in, m.width, m.out = s, width, fit(s, width, style)
	}
	return m.out
}

// fitBlock returns exactly height lines, each at most width cells.
func fitBlock(s string, width, height int) []string {
	src := strings.Split(s, "\n")
	out := make([]string, height)
	for i := range out {
		if i < len(src) {
			out[i] = truncate(src[i], width)
		}
	}
	return out
}

// truncate cuts s to at most width cells (ansi.TruncateWc). A string of no
// more bytes than width is returned as it is without measuring it: no
// character is wider in cells than in UTF-8 bytes, escape sequences have
// no width, and measuring every row of every frame was a sixth of a key's
// echo (BENCHMARKS "Web terminal").
func truncate(s string, width int) string {
	if len(s) <= width {
		return s
	}
	return ansi.TruncateWc(s, width, "")
}

// asciiWidth is the width of s when it is printable ASCII only (one cell a
// byte); ok is false otherwise.
func asciiWidth(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return 0, false
		}
	}
	return len(s), true
}
