package telnet

import (
	"reflect"
	"testing"
)

func nawsSB(w, h int) []byte {
	return []byte{cmdIAC, cmdSB, optNAWS, byte(w >> 8), byte(w), byte(h >> 8), byte(h), cmdIAC, cmdSE}
}

// nawsSBEscaped doubles 0xFF bytes as a correct client does.
func nawsSBEscaped(w, h int) []byte {
	out := []byte{cmdIAC, cmdSB, optNAWS}
	for _, b := range []byte{byte(w >> 8), byte(w), byte(h >> 8), byte(h)} {
		if out = append(out, b); b == cmdIAC {
			out = append(out, cmdIAC)
		}
	}
	return append(out, cmdIAC, cmdSE)
}

func TestNAWSClamp(t *testing.T) {
	tests := []struct {
		name  string
		sizes [][2]int // reports in order
		want  []Event
		// busybox's unescaped 0xFFFF is ambiguous; only a correct client
		// can report it.
		escapedOnly bool
	}{
		{"plain", [][2]int{{132, 43}}, []Event{WindowSize{132, 43}}, false},
		{"smallest", [][2]int{{1, 1}}, []Event{WindowSize{1, 1}}, false},
		{"huge clamped", [][2]int{{4000, 65000}}, []Event{WindowSize{MaxDimension, MaxDimension}}, false},
		{"largest clamped", [][2]int{{65535, 65535}}, []Event{WindowSize{MaxDimension, MaxDimension}}, true},
		{"just over", [][2]int{{1001, 1000}}, []Event{WindowSize{1000, 1000}}, false},
		{"width unknown", [][2]int{{0, 40}}, []Event{WindowSize{0, 40}}, false},
		{"zero keeps previous", [][2]int{{80, 24}, {0, 40}, {100, 0}}, []Event{WindowSize{80, 24}, WindowSize{80, 40}, WindowSize{100, 40}}, false},
		{"all zero ignored", [][2]int{{0, 0}}, nil, false},
		{"0xFF bytes", [][2]int{{0x1ff, 0xff}}, []Event{WindowSize{511, 255}}, false},
	}
	for _, tt := range tests {
		for _, enc := range []struct {
			name string
			fn   func(w, h int) []byte
		}{{"escaped", nawsSBEscaped}, {"busybox", nawsSB}} {
			if tt.escapedOnly && enc.name == "busybox" {
				continue
			}
			t.Run(tt.name+"/"+enc.name, func(t *testing.T) {
				e := NewEngine()
				var in []byte
				for _, s := range tt.sizes {
					in = append(in, enc.fn(s[0], s[1])...)
				}
				in = append(in, 'x')
				r := feed(e, in)
				if !reflect.DeepEqual(r.events, tt.want) || string(r.data) != "x" {
					t.Errorf("events %v data %q, want %v and \"x\"", r.events, r.data, tt.want)
				}
			})
		}
	}
}
