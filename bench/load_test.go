package bench

import (
	"strings"
	"testing"
	"time"
)

func TestTypist(t *testing.T) {
	ty := &Typist{LineLen: 3, Newline: []byte{'\r'}}
	var keys []string
	var wants []byte
	for range 9 {
		k, w := ty.Next()
		keys = append(keys, string(k))
		wants = append(wants, w)
	}
	if got := strings.Join(keys, ""); got != "abc\rdef\rg" {
		t.Fatalf("keys %q", got)
	}
	if wants[3] != 0 || wants[0] != 'a' {
		t.Fatalf("wants %v: a newline's echo is any output, a letter's is the letter", wants)
	}
	if ty.Text() != "abc\ndef\ng" {
		t.Fatalf("text %q", ty.Text())
	}
	if typedText([]byte{'\r'}, 0) != "" || typedText([]byte{'\r'}, 45) != "abcdefghijklmnopqrstuvwxyzabcdefghijklmn\nopqr" {
		t.Fatalf("typedText(45) = %q", typedText([]byte{'\r'}, 45))
	}
}

func TestNotesText(t *testing.T) {
	screen := func(rows ...string) string { return strings.Join(rows, "\n") }
	tests := []struct {
		name   string
		screen string
		height int
		want   string
	}{
		{"empty body", screen(" 1:untitled ", "", "", " bob · 1   ctrl+b ? help"), 4, ""},
		{"two lines, padding trimmed", screen(" 1:untitled* ", "abc   ", "def", "", " bob · 1"), 5, "abc\ndef"},
		{"short screen is padded", screen(" 1:untitled* ", "abc"), 5, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notesText(tt.screen, tt.height); got != tt.want {
				t.Fatalf("notesText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCrashResultOK(t *testing.T) {
	tests := []struct {
		name string
		r    CrashResult
		want bool
	}{
		{"all back, tail lost in the window", CrashResult{Sessions: 3, Back: 3, Lost: 2, MaxLostAge: 150 * time.Millisecond}, true},
		{"one missing", CrashResult{Sessions: 3, Back: 2}, false},
		{"corrupt text", CrashResult{Sessions: 3, Back: 3, Corrupt: 1}, false},
		{"lost beyond the window", CrashResult{Sessions: 3, Back: 3, Late: 1}, false},
		{"nothing ran", CrashResult{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.OK(); got != tt.want {
				t.Fatalf("OK() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigValidateCaps(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"10,000 sessions", func(c *Config) { c.N = 10000 }, true},
		{"over the session cap", func(c *Config) { c.N = 10001 }, false},
		{"more typists than sessions", func(c *Config) { c.Typing = c.N + 1 }, false},
		{"remote target", func(c *Config) { c.Addr = "10.0.0.1:2222" }, false},
		{"loopback target", func(c *Config) { c.Addr = "127.0.0.1:2222" }, true},
		{"unbounded phase", func(c *Config) { c.LoadDur = time.Hour }, false},
		{"zero concurrency", func(c *Config) { c.Conc = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParsePhases(t *testing.T) {
	if m, err := ParsePhases("all"); err != nil || len(m) != len(AllPhases) {
		t.Fatalf("all: %v %v", m, err)
	}
	if m, err := ParsePhases("echo, crash"); err != nil || !m["echo"] || !m["crash"] || m["first"] {
		t.Fatalf("echo,crash: %v %v", m, err)
	}
	if _, err := ParsePhases("echo,bogus"); err == nil {
		t.Fatal("unknown phase accepted")
	}
}

func TestWriteTableJudgesTargets(t *testing.T) {
	th := map[string]float64{"echo_p50_ms": 0.4, "echo_p99_ms": 1.5, "openssh_attach_p50_ms": 12}
	peer := map[string]float64{"echo_p50_ms": 0.5, "openssh_attach_p50_ms": 200}
	var b strings.Builder
	WriteTable(&b, th, peer)
	out := b.String()
	for _, want := range []string{
		"| key→echo p50, one session | 0.40 ms | 0.50 ms | 0.80× | ≤ 0.5 ms | **met** |",
		"| key→echo p99, one session | 1.50 ms | – | – | ≤ 1 ms | **NOT met** |",
		"**met** (0.06×)",
		"| memory per attached session (PSS) | – | – | – | ≤ 256 KiB | not measured |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
