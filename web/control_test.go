package web

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeControl(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		cols, rows int
		ok         bool
	}{
		{"resize", `{"type":"resize","cols":120,"rows":40}`, 120, 40, true},
		{"field order and spaces", ` { "rows": 5, "cols": 20, "type": "resize" } `, 20, 5, true},
		{"largest", `{"type":"resize","cols":1000,"rows":1000}`, 1000, 1000, true},
		{"zero", `{"type":"resize","cols":0,"rows":24}`, 0, 0, false},
		{"negative", `{"type":"resize","cols":80,"rows":-1}`, 0, 0, false},
		{"too big", `{"type":"resize","cols":1001,"rows":24}`, 0, 0, false},
		{"huge number", `{"type":"resize","cols":1e400,"rows":24}`, 0, 0, false},
		{"float", `{"type":"resize","cols":80.5,"rows":24}`, 0, 0, false},
		{"other type", `{"type":"paste","cols":80,"rows":24}`, 0, 0, false},
		{"no type", `{"cols":80,"rows":24}`, 0, 0, false},
		{"trailing data", `{"type":"resize","cols":80,"rows":24}]`, 0, 0, false},
		{"two objects", `{"type":"resize","cols":80,"rows":24}{}`, 0, 0, false},
		{"not json", `resize 80 24`, 0, 0, false},
		{"empty", ``, 0, 0, false},
		{"array", `[1,2]`, 0, 0, false},
		{"over the size limit", `{"type":"resize","cols":80,"rows":24,"pad":"` + string(make([]byte, maxControl)) + `"}`, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeControl([]byte(tt.in))
			if tt.ok != (err == nil) {
				t.Fatalf("decodeControl(%q) = %v, %v; want ok=%v", tt.in, got, err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, errBadControl) {
				t.Fatalf("error %v does not wrap errBadControl", err)
			}
			if tt.ok && (got.Width != tt.cols || got.Height != tt.rows) {
				t.Fatalf("decodeControl(%q) = %v, want %d×%d", tt.in, got, tt.cols, tt.rows)
			}
		})
	}
}

// FuzzDecodeControl: no input panics; what is accepted is a resize within
// bounds, from a bounded frame, and says the same when encoded again.
func FuzzDecodeControl(f *testing.F) {
	f.Add([]byte(`{"type":"resize","cols":80,"rows":24}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		size, err := decodeControl(b)
		if err != nil {
			if !errors.Is(err, errBadControl) {
				t.Fatalf("error %v does not wrap errBadControl", err)
			}
			return
		}
		if len(b) > maxControl || size.Width < 1 || size.Width > maxDim || size.Height < 1 || size.Height > maxDim {
			t.Fatalf("accepted %q as %v", b, size)
		}
		again, _ := json.Marshal(control{Type: "resize", Cols: size.Width, Rows: size.Height})
		if back, err := decodeControl(again); err != nil || back != size {
			t.Fatalf("round trip of %v: %v, %v", size, back, err)
		}
	})
}

func TestCRLF(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", "abc", "abc"},
		{"bare", "a\nb\n", "a\r\nb\r\n"},
		{"already", "a\r\nb", "a\r\nb"},
		{"leading", "\nx", "\r\nx"},
		{"mixed", "\r\n\n", "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(crlf([]byte(tt.in))); got != tt.want {
				t.Fatalf("crlf(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCloseReason(t *testing.T) {
	long := string(make([]byte, 300))
	tests := []struct{ name, in, want string }{
		{"brackets go", "[session 1 ended: killed]", "session 1 ended: killed"},
		{"controls go", "detached:\x1b[31m red\r\n", "detached:[31m red"},
		{"bounded", "é" + long, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := closeReason(tt.in)
			if len(got) > 123 {
				t.Fatalf("closeReason: %d bytes, the limit is 123", len(got))
			}
			if tt.want != "" && got != tt.want {
				t.Fatalf("closeReason(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
