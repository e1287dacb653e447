package telnet

import "bytes"

// parseState is where the input parser stands between two bytes.
type parseState uint8

const (
	stData  parseState = iota // plain data
	stIAC                     // after IAC
	stVerb                    // after IAC WILL|WONT|DO|DONT, awaiting the option
	stSBOpt                   // after IAC SB, awaiting the option
	stSB                      // inside a subnegotiation
	stSBIAC                   // after IAC inside a subnegotiation
)

// Engine is the telnet protocol for one connection, with no I/O.
// It is not safe for concurrent use; Conn serialises access to it.
type Engine struct {
	state   parseState
	verb    byte // pending WILL/WONT/DO/DONT in stVerb
	afterCR bool // the last data byte was CR: drop one LF (or NUL) next
	sb      subneg
	opts    optionTable

	width, height int // 0 = unknown
	nawsSeen      bool
	tt            ttypeCycle
	env           map[string]string
	envSeen       bool
}

// output collects what one Feed produces.
type output struct {
	data   []byte
	events []Event
	reply  []byte
}

// NewEngine returns an engine with every option off.
func NewEngine() *Engine {
	return &Engine{}
}

// Start returns our opening negotiation: WILL ECHO, WILL SGA (character
// mode), DO NAWS, DO TTYPE, DO NEW-ENVIRON. Calling it again returns nothing
// new, because the requests are already pending or granted.
func (e *Engine) Start() []byte {
	var out output
	out.verb(e.opts.us[optEcho].ask(true), cmdWILL, cmdWONT, optEcho)
	out.verb(e.opts.us[optSGA].ask(true), cmdWILL, cmdWONT, optSGA)
	for _, opt := range []byte{optNAWS, optTType, optNewEnv} {
		out.verb(e.opts.him[opt].ask(true), cmdDO, cmdDONT, opt)
	}
	return out.reply
}

// Feed parses bytes from the client. It returns the user data in them, the
// events they carried and the bytes to send back to the client, in that
// order of concern; any of them may be nil. The returned slices are new
// and owned by the caller. Feeding a stream in one piece or in several gives
// the same concatenated results.
func (e *Engine) Feed(in []byte) (data []byte, events []Event, reply []byte) {
	var out output
	for i := 0; i < len(in); {
		if n := e.bulk(in[i:], &out); n > 0 {
			i += n
			continue
		}
		e.step(in[i], &out)
		i++
	}
	return out.data, out.events, out.reply
}

// bulk consumes a leading run of bytes that need no decision one by one:
// data up to the next IAC or CR, or subnegotiation payload up to the next
// IAC (NAWS excepted, see nawsLen). It is a fast path with the same result
// as step; it returns how many bytes it took.
func (e *Engine) bulk(in []byte, out *output) int {
	data := e.state == stData && !e.afterCR
	if !data && (e.state != stSB || e.sb.opt == optNAWS) {
		return 0
	}
	end := bytes.IndexByte(in, cmdIAC)
	if end < 0 {
		end = len(in)
	}
	if !data {
		if end > 0 {
			e.sb.addRun(in[:end])
		}
		return end
	}
	if cr := bytes.IndexByte(in[:end], '\r'); cr >= 0 {
		end = cr
	}
	out.data = append(out.data, in[:end]...)
	return end
}

// step advances the parser by one byte.
func (e *Engine) step(b byte, out *output) {
	switch e.state {
	case stData:
		if b == cmdIAC {
			e.state = stIAC
			return
		}
		e.emit(b, out)
	case stIAC:
		e.state = stData
		e.command(b, out)
	case stVerb:
		e.state = stData
		e.negotiate(e.verb, b, out)
	case stSBOpt:
		e.sb.begin(b)
		e.state = stSB
	case stSB:
		e.sbByte(b, out)
	case stSBIAC:
		e.sbIAC(b, out)
	}
}

// command handles the byte after IAC outside a subnegotiation.
func (e *Engine) command(b byte, out *output) {
	switch b {
	case cmdIAC:
		e.emit(cmdIAC, out)
	case cmdWILL, cmdWONT, cmdDO, cmdDONT:
		e.verb, e.state = b, stVerb
	case cmdSB:
		e.state = stSBOpt
	case cmdIP, cmdBRK:
		e.emit(0x03, out) // ctrl+c
	case cmdEC:
		e.emit(0x7f, out) // erase character: DEL
	case cmdEL:
		e.emit(0x15, out) // erase line: ctrl+u
	}
	// NOP, DM, AO, AYT, GA, a stray SE and unknown commands are ignored.
}

// emit delivers one data byte, folding CR LF and CR NUL into CR.
func (e *Engine) emit(b byte, out *output) {
	if e.afterCR {
		e.afterCR = false
		if b == '\n' || (b == 0 && !e.opts.him[optBinary].on()) {
			return
		}
	}
	e.afterCR = b == '\r'
	out.data = append(out.data, b)
}
