package telnet

import (
	"bytes"
	"testing"
	"unsafe"
)

// footprint is the engine's memory beyond Go's bookkeeping: the struct and
// every buffer it owns.
func footprint(e *Engine) int {
	n := int(unsafe.Sizeof(*e)) + cap(e.sb.buf)
	for _, s := range e.tt.names {
		n += len(s)
	}
	for k, v := range e.env {
		n += len(k) + len(v)
	}
	return n
}

// TestLongSubnegotiation is vector 12 at full size: 100 KiB of payload (plain
// and as FF FF pairs) is dropped, memory stays bounded throughout and the
// data after it is delivered, however the input is split.
func TestLongSubnegotiation(t *testing.T) {
	const limit = 8 << 10 // struct (~1.2 KiB) + the 4 KiB cap, with slack
	tests := []struct {
		name string
		pad  []byte
	}{
		{"plain bytes", []byte("a")},
		{"FF FF pairs", unhex("ff ff")},
	}
	for _, tt := range tests {
		in := longSB(tt.pad, 100<<10/len(tt.pad))
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			var data []byte
			peak := 0
			for i := range in {
				d, _, _ := e.Feed(in[i : i+1])
				data = append(data, d...)
				peak = max(peak, footprint(e))
				if cap(e.sb.buf) > MaxSubnegotiation {
					t.Fatalf("SB buffer capacity %d at byte %d", cap(e.sb.buf), i)
				}
			}
			if string(data) != "hi" {
				t.Errorf("byte-wise data %q, want \"hi\"", data)
			}
			t.Logf("peak engine footprint %d bytes over %d input bytes", peak, len(in))
			if peak > limit {
				t.Errorf("peak footprint %d bytes, want <= %d", peak, limit)
			}
			if cap(e.sb.buf) > keepSB {
				t.Errorf("SB buffer of %d bytes kept after the SB, want <= %d", cap(e.sb.buf), keepSB)
			}
			for k := 0; k < len(in); k += len(in)/256 + 1 {
				if got := feed(NewEngine(), in[:k], in[k:]); string(got.data) != "hi" || len(got.events)+len(got.reply) != 0 {
					t.Fatalf("split@%d: %+v", k, got)
				}
			}
		})
	}
}

func TestSubnegotiationCap(t *testing.T) {
	tests := []struct {
		name       string
		in         []byte
		wantEvents int
	}{
		{"TTYPE at the cap kept", ttypeIS(string(bytes.Repeat([]byte("x"), MaxSubnegotiation-1))), 1},
		{"TTYPE over the cap dropped", ttypeIS(string(bytes.Repeat([]byte("x"), MaxSubnegotiation))), 0},
		{"env over the cap dropped", cat(unhex("ff fa 27 00 00"), bytes.Repeat([]byte("A"), MaxSubnegotiation), unhex("01 62 ff f0")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			if got := feed(e, tt.in); len(got.events) != tt.wantEvents || len(got.data) != 0 {
				t.Errorf("got %d events, data %q; want %d events, no data", len(got.events), got.data, tt.wantEvents)
			}
			if cap(e.sb.buf) > keepSB {
				t.Errorf("kept %d bytes of SB buffer", cap(e.sb.buf))
			}
		})
	}
}

// TestBareSEPayload is vector 10 seen from inside: a bare SE is payload.
func TestBareSEPayload(t *testing.T) {
	e := NewEngine()
	feed(e, unhex("ff fa 12 f0"))
	if e.state != stSB || e.sb.opt != 0x12 || !bytes.Equal(e.sb.buf, unhex("f0")) {
		t.Fatalf("state %d opt %x payload % x, want inside SB 12 with payload f0", e.state, e.sb.opt, e.sb.buf)
	}
	if got := feed(e, unhex("ff f0 61")); string(got.data) != "a" {
		t.Errorf("data after SE %q, want \"a\"", got.data)
	}
}

// TestSubnegotiationGrowth: payload arriving in runs of any size never makes
// the buffer outgrow the cap (append's own growth would overshoot it; the
// fuzzer found that, see testdata/fuzz/FuzzEngine/regress_sb_append_overshoot).
func TestSubnegotiationGrowth(t *testing.T) {
	tests := []struct {
		name string
		runs []int
	}{
		{"one big run", []int{MaxSubnegotiation + 1}},
		{"3000 then the rest", []int{3000, 1096, 10}},
		{"odd runs", []int{1, 300, 700, 1500, 1700, 2000}},
		{"byte runs", []int{1, 1, 1, 4093, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			feed(e, unhex("ff fa e0"))
			for _, n := range tt.runs {
				feed(e, bytes.Repeat([]byte{0xe0}, n))
				if cap(e.sb.buf) > MaxSubnegotiation {
					t.Fatalf("SB buffer capacity %d after a run of %d", cap(e.sb.buf), n)
				}
			}
		})
	}
}
