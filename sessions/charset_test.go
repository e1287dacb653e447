package sessions_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"termhost/sessions"
	"termhost/tui"
)

// SPEC §4: characters follow the client's terminal type and locale.
func TestCharsetFor(t *testing.T) {
	tests := []struct {
		name, term, locale string
		want               tui.Charset
	}{
		{name: "xterm, no locale", term: "xterm-256color", want: tui.UTF8},
		{name: "xterm, utf-8 locale", term: "xterm-256color", locale: "en_US.UTF-8", want: tui.UTF8},
		{name: "xterm, utf8 spelling", term: "xterm", locale: "de_DE.utf8", want: tui.UTF8},
		{name: "xterm, C locale", term: "xterm-256color", locale: "C", want: tui.ASCII},
		{name: "xterm, POSIX locale", term: "xterm", locale: "POSIX", want: tui.ASCII},
		{name: "xterm, latin-1 locale", term: "xterm", locale: "en_US.ISO-8859-1", want: tui.ASCII},
		{name: "linux console", term: "linux", locale: "C.UTF-8", want: tui.UTF8},
		{name: "syncterm", term: "syncterm", want: tui.CP437},
		{name: "SYNCTERM upper case", term: "SYNCTERM", want: tui.CP437},
		{name: "ansi", term: "ansi", want: tui.CP437},
		{name: "ANSI upper case", term: "ANSI", want: tui.CP437},
		{name: "pcansi", term: "pcansi", want: tui.CP437},
		{name: "ansi-bbs", term: "ansi-bbs", want: tui.CP437},
		{name: "cp437 term beats a C locale", term: "syncterm", locale: "C", want: tui.CP437},
		{name: "vt100", term: "vt100", want: tui.ASCII},
		{name: "vt52", term: "vt52", want: tui.ASCII},
		{name: "dumb", term: "dumb", want: tui.ASCII},
		{name: "vt100 beats a utf-8 locale", term: "vt100", locale: "en_US.UTF-8", want: tui.ASCII},
		{name: "vt220", term: "vt220", want: tui.ASCII},
		{name: "screen", term: "screen-256color", want: tui.UTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessions.CharsetFor(tt.term, tt.locale); got != tt.want {
				t.Fatalf("CharsetFor(%q, %q) = %v, want %v", tt.term, tt.locale, got, tt.want)
			}
		})
	}
}

func TestLocaleOf(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{name: "none", env: []string{"TERM=xterm"}, want: ""},
		{name: "lang", env: []string{"LANG=C"}, want: "C"},
		{name: "lc_ctype beats lang", env: []string{"LANG=C", "LC_CTYPE=en_US.UTF-8"}, want: "en_US.UTF-8"},
		{name: "lc_all beats all", env: []string{"LC_ALL=POSIX", "LC_CTYPE=en_US.UTF-8", "LANG=en_US.UTF-8"}, want: "POSIX"},
		{name: "empty lc_all ignored", env: []string{"LC_ALL=", "LANG=C.UTF-8"}, want: "C.UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessions.LocaleOf(tt.env); got != tt.want {
				t.Fatalf("LocaleOf(%q) = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
}

// A client whose terminal is not UTF-8 gets no multi-byte sequences: the
// workspace's "·", box lines and typed non-ASCII text arrive in its
// charset, one byte a cell (issue 9: SyncTERM drew each as 2–3 glyphs).
func TestNonUTF8ClientGetsNoMultibyte(t *testing.T) {
	tests := []struct {
		name, term, locale string
		dot                string // how the status bar's "·" arrives
		send               string // typed text: "für 中" unless set (a CP437 terminal sends CP437)
		typed              string // how it arrives
		maxByte            byte
	}{
		{name: "syncterm cp437", term: "syncterm", dot: "\xfa", send: "f\x81r \xe4", typed: "f\x81r \xe4", maxByte: 0xff},
		{name: "vt100 ascii", term: "vt100", dot: ".", typed: "f?r ??", maxByte: 0x7f},
		{name: "xterm with C locale", term: "xterm-256color", locale: "C", dot: ".", typed: "f?r ??", maxByte: 0x7f},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			ci := info("10.0.0.1:1001", 80, 24)
			ci.Term, ci.Locale = tt.term, tt.locale
			c := e.serve(e.mgr, alice, ci)
			c.scr.WaitRaw(t, " alice "+tt.dot+" 1", wait)
			if tt.send == "" {
				tt.send = "für 中"
			}
			c.send(tt.send)
			c.scr.WaitRaw(t, tt.typed, wait)
			c.send("\x02?") // the help overlay's box
			c.scr.WaitRaw(t, "any key: close", wait)
			raw := c.scr.Raw()
			for i := 0; i < len(raw); i++ {
				if raw[i] > tt.maxByte {
					t.Fatalf("byte 0x%02x at %d: %q", raw[i], i, raw[max(i-20, 0):min(i+20, len(raw))])
				}
				// CP437 bytes may pair into a 2-byte UTF-8 form by chance
				// ("┬┐"); the wide and box characters are 3-byte forms.
				if r, n := utf8.DecodeRuneInString(raw[i:]); n > 2 && r != utf8.RuneError {
					t.Fatalf("multi-byte %q at %d: %q", r, i, raw[max(i-20, 0):min(i+20, len(raw))])
				}
			}
			if strings.Contains(raw, "ü") || strings.Contains(raw, "·") {
				t.Fatalf("UTF-8 text in the output")
			}
		})
	}
}
