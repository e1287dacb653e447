package telnet

// SetEcho turns server-side echo of typed input on or off (default off).
//
// Accept offers WILL ECHO, so the client does not echo locally: whatever
// the user should see, the server must send. A full-screen UI draws its own
// screen and leaves echo off. A line prompt can echo itself, or turn this
// on: then Read writes back what it returns (CR as CR LF, DEL and BS as
// "\b \b", other control bytes not at all), without knowledge of the
// caller's line buffer. For a Password: prompt, leave it off: nothing is
// echoed and nothing is renegotiated, so the client keeps its echo off too.
func (c *Conn) SetEcho(on bool) {
	c.echo.Store(on)
}

// writeEcho writes the echo of typed bytes.
func (c *Conn) writeEcho(typed []byte) error {
	var echo []byte
	for _, b := range typed {
		switch {
		case b == '\r':
			echo = append(echo, '\r', '\n')
		case b == 0x7f || b == '\b':
			echo = append(echo, '\b', ' ', '\b')
		case b >= ' ':
			echo = append(echo, b)
		}
	}
	if len(echo) == 0 {
		return nil
	}
	_, err := c.Write(echo)
	return err
}
