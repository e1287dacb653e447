package sessions_test

import (
	"context"
	"testing"
)

// Input from a terminal that is not UTF-8 is made UTF-8 before the key
// decoder (issue 9): SyncTERM sends "é" as CP437 byte 0x82 and box lines
// as 0xC4/0xB3, and its "¢" (0x9B) is not an 8-bit CSI that eats the keys
// after it. An ASCII terminal's UTF-8 is kept, its other high bytes are
// dropped. What Notes saves is the check.
func TestNonUTF8ClientInput(t *testing.T) {
	tests := []struct {
		name, term string
		chunks     []string
		want       string // the saved document's body
	}{
		{name: "syncterm accents", term: "syncterm", chunks: []string{"\x82t\x82 ca\x87a"}, want: "été caça"},
		{name: "syncterm box and blocks", term: "syncterm", chunks: []string{"\xda\xc4\xbf\xb3\xdb"}, want: "┌─┐│█"},
		{name: "syncterm 0x9B eats no keys", term: "syncterm", chunks: []string{"1\x9bxyz"}, want: "1¢xyz"},
		{name: "ansi split reads", term: "ansi", chunks: []string{"a\x82", "\x9b", "b"}, want: "aé¢b"},
		{name: "vt100 keeps utf-8", term: "vt100", chunks: []string{"f\xc3\xbcr \xe4\xb8\xad"}, want: "für 中"},
		{name: "vt100 utf-8 split across reads", term: "vt100", chunks: []string{"x\xe4", "\xb8", "\xady"}, want: "x中y"},
		{name: "vt100 drops c1 and latin-1", term: "vt100", chunks: []string{"a\x9bxb\xe9c\xc2\x9bd"}, want: "axbcd"},
		{name: "xterm utf-8 unchanged", term: "xterm-256color", chunks: []string{"f\xc3\xbcr"}, want: "für"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			ci := info("10.0.0.1:1001", 80, 24)
			ci.Term = tt.term
			c := e.serve(e.mgr, alice, ci)
			c.scr.WaitRaw(t, " alice ", wait)
			for _, ch := range tt.chunks {
				c.send(ch)
			}
			c.send("\x13") // ctrl+s
			c.scr.WaitRaw(t, "saved untitled", wait)
			docs, err := e.store.ListDocuments(context.Background(), "alice")
			if err != nil || len(docs) != 1 {
				t.Fatalf("documents: %v, %v", docs, err)
			}
			if docs[0].Body != tt.want {
				t.Errorf("body = %q, want %q", docs[0].Body, tt.want)
			}
		})
	}
}
