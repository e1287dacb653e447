package sessions

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"termhost/tui"
)

// A session's mailbox (issue 8) keeps news in order, coalesces
// SessionsChanged, and past maxMailChats replaces its chat lines with one
// ChatResync, dropping later lines until the session takes its mail.
func TestMailboxBounds(t *testing.T) {
	chat := func(i int) tea.Msg { return tui.ChatMsg{Seq: int64(i), Text: fmt.Sprint(i)} }
	chats := func(from, n int) []tea.Msg {
		var out []tea.Msg
		for i := range n {
			out = append(out, chat(from+i))
		}
		return out
	}
	news := tui.DocRenamed{ID: "d1", Title: "new"}
	tests := []struct {
		name string
		put  []tea.Msg
		want []tea.Msg
	}{
		{"lines in order", chats(1, 3), chats(1, 3)},
		{"one SessionsChanged for many", []tea.Msg{tui.SessionsChanged{}, chat(1), tui.SessionsChanged{}}, []tea.Msg{tui.SessionsChanged{}, chat(1)}},
		{"a full box takes its lines", chats(1, maxMailChats), chats(1, maxMailChats)},
		{"one line more is a resync", chats(1, maxMailChats+1), []tea.Msg{tui.ChatResync{}}},
		{"lines after a resync are dropped, news kept in order",
			append(append([]tea.Msg{news}, chats(1, maxMailChats+5)...), news),
			[]tea.Msg{news, tui.ChatResync{}, news}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b mailbox
			for _, m := range tc.put {
				b.put(m)
			}
			if !b.claim() {
				t.Fatal("claim: no drain asked for")
			}
			if b.claim() {
				t.Fatal("a second claim while draining")
			}
			got := b.take()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("took %v\nwant %v", got, tc.want)
			}
			if again := b.take(); len(again) != 0 || b.draining {
				t.Errorf("second take %v, draining %v; want nothing and the drain over", again, b.draining)
			}
			b.put(chat(99)) // a fresh round counts from zero
			if got := b.take(); len(got) != 1 {
				t.Errorf("after a round: took %v, want the one line", got)
			}
		})
	}
}
