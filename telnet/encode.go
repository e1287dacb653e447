package telnet

// Encode appends out to dst escaped for the wire and returns the result:
// 0xFF becomes IAC IAC, and unless the client has agreed to our BINARY, a
// CR not followed by LF becomes CR NUL (RFC 854). A CR at the very end of
// out also goes out as CR NUL, which any terminal shows as a plain CR.
func (e *Engine) Encode(dst, out []byte) []byte {
	binary := e.opts.us[optBinary].on()
	for i, b := range out {
		switch {
		case b == cmdIAC:
			dst = append(dst, cmdIAC, cmdIAC)
		case b == '\r' && !binary && (i+1 == len(out) || out[i+1] != '\n'):
			dst = append(dst, '\r', 0)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}
