package telnet

// Telnet commands (RFC 854).
const (
	cmdSE   byte = 240
	cmdNOP  byte = 241
	cmdDM   byte = 242
	cmdBRK  byte = 243
	cmdIP   byte = 244
	cmdAO   byte = 245
	cmdAYT  byte = 246
	cmdEC   byte = 247
	cmdEL   byte = 248
	cmdGA   byte = 249
	cmdSB   byte = 250
	cmdWILL byte = 251
	cmdWONT byte = 252
	cmdDO   byte = 253
	cmdDONT byte = 254
	cmdIAC  byte = 255
)

// Option codes we act on; every other option is refused.
const (
	optBinary   byte = 0  // RFC 856
	optEcho     byte = 1  // RFC 857
	optSGA      byte = 3  // RFC 858
	optTM       byte = 6  // RFC 860, refused
	optTType    byte = 24 // RFC 1091
	optNAWS     byte = 31 // RFC 1073
	optLinemode byte = 34 // RFC 1184, refused
	optNewEnv   byte = 39 // RFC 1572
)

// Subnegotiation verbs shared by TTYPE and NEW-ENVIRON.
const (
	sbIS   byte = 0
	sbSEND byte = 1
	sbINFO byte = 2
)
