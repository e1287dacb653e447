package telnet

import (
	"bytes"
	"testing"
	"unicode"
)

// checkReply fails unless reply is a sequence of whole IAC verb opt and
// IAC SB ... IAC SE commands: we never send stray or partial protocol bytes.
func checkReply(t *testing.T, reply []byte) {
	for i := 0; i < len(reply); {
		switch {
		case len(reply)-i >= 3 && reply[i] == cmdIAC && reply[i+1] >= cmdWILL && reply[i+1] <= cmdDONT:
			i += 3
		case len(reply)-i >= 5 && reply[i] == cmdIAC && reply[i+1] == cmdSB:
			end := bytes.Index(reply[i:], []byte{cmdIAC, cmdSE})
			if end < 0 {
				t.Fatalf("unterminated SB in reply % x", reply)
			}
			i += end + 2
		default:
			t.Fatalf("malformed reply % x at %d", reply, i)
		}
	}
}

// checkEvents fails on out-of-range event values.
func checkEvents(t *testing.T, events []Event) {
	for _, ev := range events {
		switch ev := ev.(type) {
		case WindowSize:
			if ev.Width < 0 || ev.Width > MaxDimension || ev.Height < 0 || ev.Height > MaxDimension {
				t.Fatalf("window size out of range: %v", ev)
			}
		case TerminalType:
			if ev.Name == "" || len(ev.Name) > maxTTypeName || termName([]byte(ev.Name)) != ev.Name {
				t.Fatalf("bad terminal name %q", ev.Name)
			}
		case EnvHints:
			if len(ev.Vars) > maxEnvVars {
				t.Fatalf("%d env vars", len(ev.Vars))
			}
			for k, v := range ev.Vars {
				if !printable([]byte(k)) || bytes.ContainsFunc([]byte(v), unicode.IsControl) {
					t.Fatalf("unclean env var %q=%q", k, v)
				}
			}
		}
	}
}

// nvt is the reference for input without IAC: every CR is delivered, and
// an LF or NUL right after a CR is dropped.
func nvt(in []byte) []byte {
	var out []byte
	for i, b := range in {
		if (b == '\n' || b == 0) && i > 0 && in[i-1] == '\r' {
			continue
		}
		out = append(out, b)
	}
	return out
}

// FuzzEngine feeds arbitrary bytes after Start and checks the invariants:
// no panic, bounded memory, only well-formed replies and sane events, no
// more data than input, and every data 0xFF paid for by an IAC IAC pair.
func FuzzEngine(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		e := NewEngine()
		e.Start()
		data, events, reply := e.Feed(in)
		if cap(e.sb.buf) > MaxSubnegotiation {
			t.Fatalf("SB buffer grew to %d", cap(e.sb.buf))
		}
		if len(data) > len(in) {
			t.Fatalf("%d data bytes from %d input bytes", len(data), len(in))
		}
		if 2*bytes.Count(data, []byte{cmdIAC}) > bytes.Count(in, []byte{cmdIAC}) {
			t.Fatalf("a lone IAC leaked into data % x", data)
		}
		if !bytes.Contains(in, []byte{cmdIAC}) && !bytes.Equal(data, nvt(in)) {
			t.Fatalf("plain input % x gave data % x, want % x", in, data, nvt(in))
		}
		checkReply(t, reply)
		checkEvents(t, events)
		chunked := NewEngine() // the buffer stays bounded mid-SB too
		for i := 0; i < len(in); i += 16 {
			chunked.Feed(in[i:min(i+16, len(in))])
			if cap(chunked.sb.buf) > MaxSubnegotiation {
				t.Fatalf("SB buffer grew to %d by byte %d", cap(chunked.sb.buf), i)
			}
		}
	})
}

// FuzzSplit checks that feeding in one piece or in two gives the same.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte, at uint16) {
		k := 0
		if len(in) > 0 {
			k = int(at) % (len(in) + 1)
		}
		one, two := NewEngine(), NewEngine()
		one.Start()
		two.Start()
		a, b := feed(one, in), feed(two, in[:k], in[k:])
		if !sameResult(a, b) {
			t.Fatalf("split at %d: one piece %+v, two pieces %+v", k, a, b)
		}
	})
}

// FuzzRoundTrip checks that what Encode sends, Feed reads back: the same
// bytes, except that CR LF arrives as one Enter.
func FuzzRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, d []byte) {
		wire := NewEngine().Encode(nil, d)
		got, events, reply := NewEngine().Feed(wire)
		want := bytes.ReplaceAll(d, []byte("\r\n"), []byte("\r"))
		if !bytes.Equal(got, want) || len(events)+len(reply) != 0 {
			t.Fatalf("% x -> wire % x -> % x (events %v reply % x), want % x", d, wire, got, events, reply, want)
		}
	})
}
