package persisttest

import (
	"fmt"
	"testing"

	"termhost/persist"
)

func testChat(t *testing.T, fresh opener) {
	s := fresh(t)
	ctx := t.Context()
	got, err := s.ChatHistory(ctx, "#lobby", 0, 10)
	noErr(t, err, "ChatHistory empty")
	if len(got) != 0 {
		t.Fatalf("empty room has %d messages", len(got))
	}
	var posted []persist.ChatMessage
	for i := range 6 {
		room := "#lobby"
		if i%3 == 2 {
			room = "#dev"
		}
		m, err := s.PostChat(ctx, persist.ChatMessage{Room: room, User: "ann", Text: fmt.Sprintf("hi %d ✓", i), At: t0})
		noErr(t, err, "PostChat")
		if len(posted) > 0 && m.Seq <= posted[len(posted)-1].Seq {
			t.Fatalf("seq not increasing: %d after %d", m.Seq, posted[len(posted)-1].Seq)
		}
		posted = append(posted, m)
	}
	tests := []struct {
		name   string
		room   string
		before int64
		limit  int
		want   []int // indexes into posted
	}{
		{"newest of lobby", "#lobby", 0, 10, []int{0, 1, 3, 4}},
		{"limit keeps the newest", "#lobby", 0, 2, []int{3, 4}},
		{"before pages back", "#lobby", posted[3].Seq, 10, []int{0, 1}},
		{"other room", "#dev", 0, 10, []int{2, 5}},
		{"unknown room", "#nope", 0, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ChatHistory(ctx, tc.room, tc.before, tc.limit)
			noErr(t, err, "ChatHistory")
			checkChat(t, got, posted, tc.want)
		})
	}
	t.Run("since", func(t *testing.T) {
		got, err := s.ChatSince(ctx, posted[2].Seq, 2)
		noErr(t, err, "ChatSince")
		checkChat(t, got, posted, []int{3, 4})
	})
}

func checkChat(t *testing.T, got, posted []persist.ChatMessage, want []int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		p := posted[w]
		g := got[i]
		if g.Seq != p.Seq || g.Room != p.Room || g.User != p.User || g.Text != p.Text || !sameMS(g.At, p.At) {
			t.Errorf("message %d = %+v, want %+v", i, g, p)
		}
	}
}
