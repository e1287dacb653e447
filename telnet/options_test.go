package telnet

import (
	"bytes"
	"testing"
)

// TestQMethod walks the RFC 1143 state table for one side of one option.
func TestQMethod(t *testing.T) {
	type step func(s *side) answer
	yes := func(accept bool) step { return func(s *side) answer { return s.recvYes(accept) } }
	no := step(func(s *side) answer { return s.recvNo() })
	ask := func(on bool) step { return func(s *side) answer { return s.ask(on) } }
	tests := []struct {
		name  string
		from  side
		do    step
		want  side
		reply answer
	}{
		{"NO offer accepted", side{qNo, false}, yes(true), side{qYes, false}, answerYes},
		{"NO offer refused", side{qNo, false}, yes(false), side{qNo, false}, answerNo},
		{"NO refusal ignored", side{qNo, false}, no, side{qNo, false}, answerNone},
		{"YES offer ignored", side{qYes, false}, yes(true), side{qYes, false}, answerNone},
		{"YES refusal acked", side{qYes, false}, no, side{qNo, false}, answerNo},
		{"WANTYES acked", side{qWantYes, false}, yes(true), side{qYes, false}, answerNone},
		{"WANTYES refused", side{qWantYes, false}, no, side{qNo, false}, answerNone},
		{"WANTYES+queue acked then disabled", side{qWantYes, true}, yes(true), side{qWantNo, false}, answerNo},
		{"WANTYES+queue refused", side{qWantYes, true}, no, side{qNo, false}, answerNone},
		{"WANTNO acked", side{qWantNo, false}, no, side{qNo, false}, answerNone},
		{"WANTNO answered by enable", side{qWantNo, false}, yes(true), side{qNo, false}, answerNone},
		{"WANTNO+queue acked then enabled", side{qWantNo, true}, no, side{qWantYes, false}, answerYes},
		{"WANTNO+queue answered by enable", side{qWantNo, true}, yes(true), side{qYes, false}, answerNone},
		{"ask on from NO", side{qNo, false}, ask(true), side{qWantYes, false}, answerYes},
		{"ask on when YES", side{qYes, false}, ask(true), side{qYes, false}, answerNone},
		{"ask off from YES", side{qYes, false}, ask(false), side{qWantNo, false}, answerNo},
		{"ask off when NO", side{qNo, false}, ask(false), side{qNo, false}, answerNone},
		{"ask on during WANTNO queues", side{qWantNo, false}, ask(true), side{qWantNo, true}, answerNone},
		{"ask off during WANTNO unqueues", side{qWantNo, true}, ask(false), side{qWantNo, false}, answerNone},
		{"ask off during WANTYES queues", side{qWantYes, false}, ask(false), side{qWantYes, true}, answerNone},
		{"ask on during WANTYES unqueues", side{qWantYes, true}, ask(true), side{qWantYes, false}, answerNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.from
			if got := tt.do(&s); got != tt.reply || s != tt.want {
				t.Errorf("got %+v answer %d, want %+v answer %d", s, got, tt.want, tt.reply)
			}
		})
	}
}

// TestNegotiationReplies checks the engine's wire answers: replies only on
// a state change, refusals for what we do not support, no loops.
func TestNegotiationReplies(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *Engine)
		in    string
		reply string
	}{
		{"WILL SGA accepted once", nil, "ff fb 03 ff fb 03", "ff fd 03"},
		{"DO SGA accepted once", nil, "ff fd 03 ff fd 03", "ff fb 03"},
		{"DO BINARY accepted", nil, "ff fd 00", "ff fb 00"},
		{"WILL BINARY accepted", nil, "ff fb 00", "ff fd 00"},
		{"WONT NAWS refuses our DO silently", started, "ff fc 1f", ""},
		{"DONT SGA refuses our WILL silently", started, "ff fe 03", ""},
		{"WILL then WONT NAWS", nil, "ff fb 1f ff fc 1f", "ff fd 1f ff fe 1f"},
		{"unsolicited WILL TTYPE asks for the name", nil, "ff fb 18", "ff fd 18 ff fa 18 01 ff f0"},
		{"WILL NEW-ENVIRON asks for variables", started, "ff fb 27", "ff fa 27 01 ff f0"},
		{"WONT for an option that is off", nil, "ff fc 05 ff fe 05", ""},
		{"DO EXOPL refused", nil, "ff fd ff", "ff fc ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine()
			if tt.setup != nil {
				tt.setup(e)
			}
			if got := feed(e, unhex(tt.in)).reply; !bytes.Equal(got, unhex(tt.reply)) {
				t.Errorf("reply % x, want %s", got, tt.reply)
			}
		})
	}
}

func TestStart(t *testing.T) {
	e := NewEngine()
	want := unhex("ff fb 01 ff fb 03 ff fd 1f ff fd 18 ff fd 27")
	if got := e.Start(); !bytes.Equal(got, want) {
		t.Errorf("Start() = % x, want % x", got, want)
	}
	if got := e.Start(); len(got) != 0 {
		t.Errorf("second Start() = % x, want nothing", got)
	}
	if e.Settled() {
		t.Error("Settled() right after Start, want false")
	}
}
