package testterm_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"termhost/internal/testterm"
)

func TestScreen(t *testing.T) {
	tests := []struct {
		name   string
		opts   []testterm.Option
		writes []string
		lines  []string // the first rows
		x, y   int
	}{
		{name: "plain", writes: []string{"ab  "}, lines: []string{"ab"}, x: 4},
		{name: "bare LF keeps the column", writes: []string{"ab\ncd"}, lines: []string{"ab", "  cd"}, x: 4, y: 1},
		{name: "CRLF option", opts: []testterm.Option{testterm.CRLF()}, writes: []string{"ab\ncd"}, lines: []string{"ab", "cd"}, x: 2, y: 1},
		{name: "CRLF not doubled across writes", opts: []testterm.Option{testterm.CRLF()}, writes: []string{"ab\r", "\ncd\r\n"}, lines: []string{"ab", "cd", ""}, y: 2},
		{name: "cursor addressing", writes: []string{"\x1b[3;5Hx"}, lines: []string{"", "", "    x"}, x: 5, y: 2},
		{name: "wide characters", writes: []string{"中文"}, lines: []string{"中文"}, x: 4},
		{name: "alternate screen left", writes: []string{"main", "\x1b[?1049h\x1b[Halt", "\x1b[?1049l"}, lines: []string{"main"}, x: 4},
		{name: "queries do not block", writes: []string{"\x1b[c\x1b[6n\x1b[>c", "ok"}, lines: []string{"ok"}, x: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testterm.New(20, 4, tt.opts...)
			t.Cleanup(func() { s.Close() })
			for _, w := range tt.writes {
				if _, err := s.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			lines := s.Lines()
			if len(lines) != 4 {
				t.Fatalf("%d lines, want the height 4", len(lines))
			}
			if got := lines[:len(tt.lines)]; strings.Join(got, "|") != strings.Join(tt.lines, "|") {
				t.Errorf("lines = %q, want %q", got, tt.lines)
			}
			if x, y := s.Cursor(); x != tt.x || y != tt.y {
				t.Errorf("cursor (%d,%d), want (%d,%d)", x, y, tt.x, tt.y)
			}
			if s.Raw() != strings.Join(tt.writes, "") {
				t.Errorf("Raw = %q", s.Raw())
			}
		})
	}
}

func TestPipeAndWait(t *testing.T) {
	s := testterm.New(40, 5)
	t.Cleanup(func() { s.Close() })
	r, w := io.Pipe()
	done := s.Pipe(r)
	go func() {
		io.WriteString(w, "hello ")
		io.WriteString(w, "world")
		w.Close()
	}()
	if got := s.WaitFor(t, "hello world", 5*time.Second); !strings.HasPrefix(got, "hello world") {
		t.Errorf("WaitFor returned %q", got)
	}
	<-done
	s.Resize(10, 2)
	if w, h := s.Size(); w != 10 || h != 2 {
		t.Errorf("size after Resize = %dx%d", w, h)
	}
	s.Close()
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}
