package telnet

import (
	"bytes"
	"testing"
)

// vector is one case from TELNET.md: what feeding in produces.
type vector struct {
	name  string
	setup func(e *Engine) // before feeding; nil means a fresh engine
	in    []byte
	want  result
	check func(t *testing.T, e *Engine) // extra checks on the final state
}

var (
	// Vector 7: what Debian's inetutils telnet answers to Start.
	inetutilsHello = unhex("ff fd 01 ff fd 03 ff fb 1f ff fa 1f 00 64 00 1e ff f0 ff fb 18")
	inetutilsTType = unhex("ff fa 18 00 58 54 45 52 4d 2d 32 35 36 43 4f 4c 4f 52 ff f0")
	ttypeSend      = unhex("ff fa 18 01 ff f0")
)

func started(e *Engine) { e.Start() }

func startedThen(chunks ...[]byte) func(e *Engine) {
	return func(e *Engine) {
		e.Start()
		feed(e, chunks...)
	}
}

// longSB is vector 12 at a size that still overflows the cap but keeps the
// every-offset split test quick; TestLongSubnegotiation runs 100 KiB.
func longSB(pad []byte, n int) []byte {
	return cat(unhex("ff fa 18"), bytes.Repeat(pad, n), unhex("ff f0 68 69"))
}

func vectors() []vector {
	return []vector{
		{name: "1 IAC IAC is data 0xFF", in: unhex("61 ff ff 62"), want: result{data: unhex("61 ff 62")}},
		{name: "2 NOP dropped", in: unhex("61 ff f1 62"), want: result{data: unhex("61 62")}},
		{name: "2 IP is ctrl+c", in: unhex("ff f4"), want: result{data: unhex("03")}},
		{name: "3 unknown command dropped", in: unhex("61 ff 05 62"), want: result{data: unhex("61 62")}},
		{name: "4 WILL unsupported refused", in: unhex("ff fb 12"), want: result{reply: unhex("ff fe 12")}},
		{name: "4 DO unsupported refused", in: unhex("ff fd 12"), want: result{reply: unhex("ff fc 12")}},
		{name: "4 DO TM refused", in: unhex("ff fd 06"), want: result{reply: unhex("ff fc 06")}},
		{name: "4 WILL LINEMODE refused", in: unhex("ff fb 22"), want: result{reply: unhex("ff fe 22")}},
		{name: "4 WILL ECHO refused", in: unhex("ff fb 01"), want: result{reply: unhex("ff fe 01")}},
		{
			name: "5 DO ECHO twice answered once", in: unhex("ff fd 01 ff fd 01"),
			want:  result{reply: unhex("ff fb 01")},
			check: wantUs(optEcho, qYes),
		},
		{
			name: "5 DONT ECHO when off is silent", in: unhex("ff fe 01 ff fe 01"),
			check: wantUs(optEcho, qNo),
		},
		{name: "6 DO ECHO acks our WILL", setup: started, in: unhex("ff fd 01"), check: wantUs(optEcho, qYes)},
		{name: "6 DONT ECHO refuses our WILL", setup: started, in: unhex("ff fe 01"), check: wantUs(optEcho, qNo)},
		{
			name: "7 inetutils hello", setup: started, in: inetutilsHello,
			want:  result{events: []Event{WindowSize{100, 30}}, reply: ttypeSend},
			check: wantSize(100, 30),
		},
		{
			name: "7 inetutils terminal type", setup: startedThen(inetutilsHello), in: inetutilsTType,
			want:  result{events: []Event{TerminalType{"xterm-256color"}}, reply: ttypeSend},
			check: wantTerm("xterm-256color"),
		},
		{
			name: "7 repeated name ends the cycle", setup: startedThen(inetutilsHello, inetutilsTType),
			in: cat(inetutilsTType, unhex("ff fc 27")), check: wantSettled,
		},
		{name: "8 NAWS 80x24", in: unhex("ff fa 1f 00 50 00 18 ff f0"), want: result{events: []Event{WindowSize{80, 24}}}},
		{name: "8 NAWS escaped 255", in: unhex("ff fa 1f 00 ff ff 00 1e ff f0"), want: result{events: []Event{WindowSize{255, 30}}}},
		{name: "8 NAWS busybox unescaped 255", in: unhex("ff fa 1f 00 ff 00 1e ff f0"), want: result{events: []Event{WindowSize{255, 30}}}},
		{
			name: "8 NAWS busybox unescaped 255 last", in: unhex("ff fa 1f 00 50 00 ff ff f0 61"),
			want: result{data: unhex("61"), events: []Event{WindowSize{80, 255}}},
		},
		{name: "8 NAWS empty ignored", in: unhex("ff fa 1f ff f0 61"), want: result{data: unhex("61")}},
		{name: "8 NAWS 3 bytes ignored", in: unhex("ff fa 1f 00 50 00 ff f0 61"), want: result{data: unhex("61")}},
		{name: "8 NAWS zero ignored", in: unhex("ff fa 1f 00 00 00 00 ff f0"), check: wantSize(0, 0)},
		{name: "9 empty environment", in: unhex("ff fa 27 00 ff f0"), want: result{events: []Event{EnvHints{Vars: map[string]string{}}}}},
		{
			name: "9 USER=bob", in: unhex("ff fa 27 00 00 55 53 45 52 01 62 6f 62 ff f0"),
			want: result{events: []Event{EnvHints{Vars: map[string]string{"USER": "bob"}}}},
		},
		{name: "10 bare SE inside SB is payload", in: unhex("ff fa 12 f0 ff f0 68 69"), want: result{data: []byte("hi")}},
		{name: "11 IAC DO abandons SB", in: unhex("ff fa 18 61 62 ff fd 01"), want: result{reply: unhex("ff fb 01")}},
		{name: "12 long SB dropped", in: longSB([]byte("a"), MaxSubnegotiation+100), want: result{data: []byte("hi")}},
		{name: "12 long SB of FF FF dropped", in: longSB(unhex("ff ff"), MaxSubnegotiation+100), want: result{data: []byte("hi")}},
		{name: "13 CR NUL is Enter", in: unhex("61 0d 00 62"), want: result{data: []byte("a\rb")}},
		{name: "13 CR LF is Enter", in: unhex("61 0d 0a 62"), want: result{data: []byte("a\rb")}},
		{name: "13 CR CR LF is two Enters", in: unhex("0d 0d 0a"), want: result{data: []byte("\r\r")}},
		{name: "13 bare LF stays", in: unhex("61 0a 0a"), want: result{data: []byte("a\n\n")}},
		{name: "13 NUL alone is data", in: unhex("61 00"), want: result{data: []byte("a\x00")}},
		{
			name: "13 BINARY keeps NUL after CR", setup: func(e *Engine) { feed(e, unhex("ff fb 00")) },
			in: unhex("0d 00 0d 0a 0d"), want: result{data: []byte("\r\x00\r\r")},
		},
	}
}

func wantUs(opt byte, st qstate) func(*testing.T, *Engine) {
	return func(t *testing.T, e *Engine) {
		if got := e.opts.us[opt].state; got != st {
			t.Errorf("us[%d] = %d, want %d", opt, got, st)
		}
	}
}

func wantSize(w, h int) func(*testing.T, *Engine) {
	return func(t *testing.T, e *Engine) {
		if gw, gh := e.Size(); gw != w || gh != h {
			t.Errorf("Size() = %dx%d, want %dx%d", gw, gh, w, h)
		}
	}
}

func wantTerm(name string) func(*testing.T, *Engine) {
	return func(t *testing.T, e *Engine) {
		if got := e.Term(); got != name {
			t.Errorf("Term() = %q, want %q", got, name)
		}
	}
}

func wantSettled(t *testing.T, e *Engine) {
	if !e.Settled() {
		t.Errorf("Settled() = false, want true")
	}
}

// TestVectors feeds each vector whole, split at every offset, and byte by
// byte; all must give the same data, events and reply.
func TestVectors(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			for how, chunks := range splits(v.in) {
				e := NewEngine()
				if v.setup != nil {
					v.setup(e)
				}
				got := feed(e, chunks...)
				if !sameResult(got, v.want) {
					t.Fatalf("%s: got data % x events %v reply % x; want data % x events %v reply % x",
						how, got.data, got.events, got.reply, v.want.data, v.want.events, v.want.reply)
				}
				if v.check != nil {
					v.check(t, e)
				}
				if e.state != stData {
					t.Errorf("%s: parser left in state %d", how, e.state)
				}
			}
		})
	}
}

// TestEncodeVector is vector 14, also encoded in two pieces.
func TestEncodeVector(t *testing.T) {
	in, want := unhex("61 ff 62"), unhex("61 ff ff 62")
	for how, chunks := range splits(in) {
		e := NewEngine()
		var got []byte
		for _, c := range chunks {
			got = e.Encode(got, c)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Encode = % x, want % x", how, got, want)
		}
	}
}
