package telnet

import (
	"maps"
	"testing"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"VAR with value", "00 55 53 45 52 01 62 6f 62", map[string]string{"USER": "bob"}},
		{"USERVAR", "03 54 5a 01 55 54 43", map[string]string{"TZ": "UTC"}},
		{"empty value defined", "00 41 01", map[string]string{"A": ""}},
		{"undefined var skipped", "00 41 00 42 01 63", map[string]string{"B": "c"}},
		{"ESC-quoted code is a control char, dropped", "00 41 02 01 42 01 63", map[string]string{}},
		{"ESC quotes a printable", "00 41 02 42 01 63", map[string]string{"AB": "c"}},
		{"dangling ESC", "00 41 01 62 02", map[string]string{"A": "b"}},
		{"control char in value dropped", "00 41 01 1b 5b 32 4a", map[string]string{}},
		{"bytes before a name ignored", "61 62 00 41 01 62", map[string]string{"A": "b"}},
		{"USER=-f root is just a hint", "00 55 53 45 52 01 2d 66 20 72 6f 6f 74", map[string]string{"USER": "-f root"}},
		{"invalid UTF-8 dropped", "00 41 01 ff", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseEnv(unhex(tt.in)); !maps.Equal(got, tt.want) {
				t.Errorf("parseEnv(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEnvReports(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want map[string]string
	}{
		{"IS", []string{"ff fa 27 00 00 41 01 62 ff f0"}, map[string]string{"A": "b"}},
		{"INFO merges", []string{"ff fa 27 00 00 41 01 62 ff f0", "ff fa 27 02 03 42 01 63 ff f0"}, map[string]string{"A": "b", "B": "c"}},
		{"IS replaces", []string{"ff fa 27 00 00 41 01 62 ff f0", "ff fa 27 00 03 42 01 63 ff f0"}, map[string]string{"B": "c"}},
		{"SEND from client ignored", []string{"ff fa 27 01 ff f0"}, nil},
		{"IAC IAC in value", []string{"ff fa 27 00 00 41 01 c3 ff ff ff f0"}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			for _, in := range tt.in {
				feed(e, unhex(in))
			}
			if got := e.Env(); !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Env() = %q, want %q", got, tt.want)
			}
		})
	}
}
