package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", []byte{}},
		{"text", []byte(`{"version":1,"tabs":[{"app":"notes"}]}`)},
		{"nul and 0xff", []byte{0x00, 0xFF, 0x00, 0xFF}},
		{"looks like a frame", Seal([]byte("inner"))},
		{"64 KiB", bytes.Repeat([]byte("0123456789abcdef"), 4096)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := Seal(tt.payload)
			if len(frame) != frameHeader+len(tt.payload) {
				t.Fatalf("Seal: %d bytes, want %d", len(frame), frameHeader+len(tt.payload))
			}
			got, err := Open(frame)
			if err != nil {
				t.Fatalf("Open(Seal(p)): %v", err)
			}
			if !bytes.Equal(got, tt.payload) {
				t.Fatalf("Open(Seal(p)) = %q, want %q", got, tt.payload)
			}
		})
	}
}

func TestOpenCorrupt(t *testing.T) {
	good := Seal([]byte("hello, workspace"))
	// mutate returns a changed copy of good.
	mutate := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	tests := []struct {
		name  string
		frame []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"magic only", good[:4]},
		{"header minus one", good[:frameHeader-1]},
		{"truncated payload", good[:len(good)-1]},
		{"header only", good[:frameHeader]},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"older magic", mutate(func(b []byte) []byte { b[3] = '0'; return b })},
		{"flipped payload byte", mutate(func(b []byte) []byte { b[frameHeader+3] ^= 0x01; return b })},
		{"flipped last payload byte", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"flipped checksum byte", mutate(func(b []byte) []byte { b[8] ^= 0x01; return b })},
		{"flipped last checksum byte", mutate(func(b []byte) []byte { b[frameHeader-1] ^= 0xFF; return b })},
		{"length says more", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[4:], uint32(len(b)-frameHeader+1))
			return b
		})},
		{"length says less", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[4:], uint32(len(b)-frameHeader-1))
			return b
		})},
		{"length huge", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 0xFFFFFFFF); return b })},
		{"trailing byte", append(bytes.Clone(good), 0x00)},
		{"two frames", append(bytes.Clone(good), good...)},
		{"zero frame", make([]byte, frameHeader+16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := Open(tt.frame)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %q, %v; want an error wrapping ErrCorrupt", payload, err)
			}
			if payload != nil {
				t.Fatalf("Open returned %d payload bytes with an error", len(payload))
			}
		})
	}
}

// FuzzOpen checks that Open never panics, that every refusal is ErrCorrupt,
// and that whatever it accepts is exactly what Seal produces for the
// payload: no two frames open to the same payload. Seeds beyond these live
// in testdata/fuzz/FuzzOpen.
func FuzzOpen(f *testing.F) {
	f.Add(Seal(nil))
	f.Add(Seal([]byte("hello, workspace")))
	f.Add(Seal([]byte{0x00, 0xFF}))
	f.Add([]byte("THS1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		payload, err := Open(frame)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := Seal(payload); !bytes.Equal(again, frame) {
			t.Fatalf("Open accepted %x, but Seal of its payload is %x", frame, again)
		}
	})
}
