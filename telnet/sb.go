package telnet

// MaxSubnegotiation caps the payload of one IAC SB ... IAC SE. A longer one
// is consumed to its end and dropped; the buffer never grows past the cap.
const MaxSubnegotiation = 4096

// keepSB is the buffer capacity kept between subnegotiations; a larger
// buffer (left by a long one) is released.
const keepSB = 256

// subneg accumulates one subnegotiation payload, unescaped.
type subneg struct {
	opt      byte
	buf      []byte
	overflow bool
}

func (s *subneg) begin(opt byte) {
	s.opt, s.buf, s.overflow = opt, s.buf[:0], false
}

func (s *subneg) add(b byte) {
	if len(s.buf) >= MaxSubnegotiation {
		s.overflow = true
		return
	}
	s.reserve(1)
	s.buf = append(s.buf, b)
}

// addRun adds payload bytes up to the cap.
func (s *subneg) addRun(p []byte) {
	if room := MaxSubnegotiation - len(s.buf); len(p) > room {
		s.overflow = true
		p = p[:room]
	}
	s.reserve(len(p))
	s.buf = append(s.buf, p...)
}

// reserve grows buf for n more bytes itself, because append's growth
// may overshoot the cap.
func (s *subneg) reserve(n int) {
	need := len(s.buf) + n
	if need <= cap(s.buf) {
		return
	}
	grown := make([]byte, len(s.buf), min(max(2*cap(s.buf), need, 64), MaxSubnegotiation))
	copy(grown, s.buf)
	s.buf = grown
}

func (s *subneg) reset() {
	s.buf, s.overflow = s.buf[:0], false
	if cap(s.buf) > keepSB {
		s.buf = nil
	}
}

// sbByte handles a byte inside a subnegotiation. A bare SE is payload
// (only IAC SE ends it), except for NAWS: see nawsLen.
func (e *Engine) sbByte(b byte, out *output) {
	switch {
	case b == cmdIAC:
		e.state = stSBIAC
	case b == cmdSE && e.sb.opt == optNAWS && len(e.sb.buf) >= nawsLen:
		e.endSB(out)
	default:
		e.sb.add(b)
	}
}

// sbIAC handles the byte after IAC inside a subnegotiation: SE ends it,
// IAC is a data 0xFF, and anything else abandons the subnegotiation and is
// handled as the command it is (so IAC SB x IAC DO y still negotiates y).
func (e *Engine) sbIAC(b byte, out *output) {
	switch {
	case b == cmdSE:
		e.endSB(out)
	case b == cmdIAC:
		e.sb.add(cmdIAC)
		e.state = stSB
	case e.sb.opt == optNAWS && len(e.sb.buf) < nawsLen && b < cmdSE:
		// busybox sends a NAWS 0xFF unescaped: keep it as a size byte.
		e.sb.add(cmdIAC)
		e.sb.add(b)
		e.state = stSB
	default:
		e.sb.reset()
		e.state = stData
		e.command(b, out)
	}
}

// endSB dispatches a complete subnegotiation.
func (e *Engine) endSB(out *output) {
	e.state = stData
	if !e.sb.overflow {
		switch e.sb.opt {
		case optNAWS:
			e.naws(e.sb.buf, out)
		case optTType:
			e.ttypeReport(e.sb.buf, out)
		case optNewEnv:
			e.envReport(e.sb.buf, out)
		}
	}
	e.sb.reset()
}
