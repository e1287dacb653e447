package telnet

// MaxDimension caps a reported window width or height. Larger values come
// from broken or hostile clients and would cost memory in screen buffers.
const MaxDimension = 1000

// nawsLen is the payload size of NAWS: width and height, 16 bits each.
//
// nawsLenient: busybox does not double a 0xFF inside NAWS. While fewer than
// nawsLen bytes are in, IAC followed by a non-command byte is taken as a
// literal 0xFF, and once nawsLen bytes are in, a bare SE ends the
// subnegotiation. A correct client never sends either sequence, so both
// kinds of client read right: ff fa 1f 00 ff 00 1e ff f0 is 255x30.
const nawsLen = 4

// naws handles a NAWS report: big-endian width and height, 0 = unknown
// (the previous value is kept). Payloads of another length are ignored.
func (e *Engine) naws(p []byte, out *output) {
	if len(p) != nawsLen {
		return
	}
	e.nawsSeen = true
	w, h := int(p[0])<<8|int(p[1]), int(p[2])<<8|int(p[3])
	if w == 0 && h == 0 {
		return
	}
	if w != 0 {
		e.width = min(w, MaxDimension)
	}
	if h != 0 {
		e.height = min(h, MaxDimension)
	}
	out.events = append(out.events, WindowSize{Width: e.width, Height: e.height})
}
