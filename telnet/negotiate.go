package telnet

// acceptLocal lists the options we agree to perform when the client sends DO.
func acceptLocal(opt byte) bool {
	switch opt {
	case optEcho, optSGA, optBinary:
		return true
	}
	return false // TM, LINEMODE and everything else: WONT
}

// acceptRemote lists the options we let the client perform when it sends
// WILL. ECHO is refused: the client echoing us back would loop. SGA is
// acknowledged when the client offers it, but we never ask for it with DO
// SGA first (busybox answers that with the wrong verb).
func acceptRemote(opt byte) bool {
	switch opt {
	case optNAWS, optTType, optNewEnv, optSGA, optBinary:
		return true
	}
	return false // ECHO, LINEMODE and everything else: DONT
}

// negotiate handles IAC verb opt from the client.
func (e *Engine) negotiate(verb, opt byte, out *output) {
	switch verb {
	case cmdWILL, cmdWONT:
		s := &e.opts.him[opt]
		was := s.state
		var a answer
		if verb == cmdWILL {
			a = s.recvYes(acceptRemote(opt))
		} else {
			a = s.recvNo()
		}
		out.verb(a, cmdDO, cmdDONT, opt)
		if was != qYes && s.on() {
			e.remoteEnabled(opt, out)
		}
	case cmdDO, cmdDONT:
		s := &e.opts.us[opt]
		var a answer
		if verb == cmdDO {
			a = s.recvYes(acceptLocal(opt))
		} else {
			a = s.recvNo()
		}
		out.verb(a, cmdWILL, cmdWONT, opt)
	}
}

// remoteEnabled starts the subnegotiation that an option exists for.
func (e *Engine) remoteEnabled(opt byte, out *output) {
	switch opt {
	case optTType:
		e.askTType(out)
	case optNewEnv:
		out.reply = append(out.reply, cmdIAC, cmdSB, optNewEnv, sbSEND, cmdIAC, cmdSE)
	}
}

// verb appends IAC yes|no opt for a Q-method answer.
func (o *output) verb(a answer, yes, no, opt byte) {
	switch a {
	case answerYes:
		o.reply = append(o.reply, cmdIAC, yes, opt)
	case answerNo:
		o.reply = append(o.reply, cmdIAC, no, opt)
	}
}
