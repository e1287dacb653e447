package telnet

// qstate is one side of one option in the RFC 1143 "Q method".
type qstate uint8

const (
	qNo qstate = iota
	qYes
	qWantNo
	qWantYes
)

// answer is what a Q-method step asks us to send: nothing, the positive verb
// (WILL for our side, DO for the client's side) or the negative one.
type answer uint8

const (
	answerNone answer = iota
	answerYes
	answerNo
)

// side is the negotiation state of one option in one direction: `us` (we
// perform it; the client says DO/DONT) or `him` (the client performs it;
// it says WILL/WONT). opposite is the RFC 1143 queue bit.
type side struct {
	state    qstate
	opposite bool
}

// on reports whether the option is in effect.
func (s *side) on() bool { return s.state == qYes }

// recvYes handles WILL (for him) or DO (for us). accept says whether we
// support the option; a refused offer is answered with the negative verb.
func (s *side) recvYes(accept bool) answer {
	switch s.state {
	case qNo:
		if !accept {
			return answerNo
		}
		s.state = qYes
		return answerYes
	case qWantNo: // the peer answered our disable with enable: RFC says take it
		if s.opposite {
			s.state, s.opposite = qYes, false
		} else {
			s.state = qNo
		}
	case qWantYes:
		if s.opposite {
			s.state, s.opposite = qWantNo, false
			return answerNo
		}
		s.state = qYes
	}
	return answerNone
}

// recvNo handles WONT (for him) or DONT (for us). Refusing is always legal,
// also when it refuses our own offer.
func (s *side) recvNo() answer {
	switch s.state {
	case qYes:
		s.state = qNo
		return answerNo
	case qWantNo:
		if s.opposite {
			s.state, s.opposite = qWantYes, false
			return answerYes
		}
		s.state = qNo
	case qWantYes:
		s.state, s.opposite = qNo, false
	}
	return answerNone
}

// ask starts (or queues) our own request to turn the option on or off.
func (s *side) ask(enable bool) answer {
	switch {
	case enable && s.state == qNo:
		s.state = qWantYes
		return answerYes
	case !enable && s.state == qYes:
		s.state = qWantNo
		return answerNo
	case s.state == qWantNo:
		s.opposite = enable // queue the reversal, or cancel a queued one
	case s.state == qWantYes:
		s.opposite = !enable
	}
	return answerNone
}

// optionTable holds both sides of all 256 options (1 KiB).
type optionTable struct {
	us, him [256]side
}
