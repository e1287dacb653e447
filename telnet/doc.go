// Package telnet speaks the server side of the telnet protocol so that a
// telnet client can be served like an SSH pty channel.
//
// The package has two layers:
//
//   - Engine is the protocol with no I/O: bytes from the client go in through
//     Feed and come out as user data, events (window size, terminal type,
//     environment hints) and reply bytes to send back. Encode escapes our
//     output. One Engine serves one connection; its state survives across
//     Feed calls, so a sequence split at any byte offset gives the same result.
//   - Conn wraps a net.Conn with an Engine: Accept opens the negotiation and
//     waits briefly for the client's terminal type and size; Read returns user
//     data only, Write escapes, and replies are written as they arise.
//
// What the server negotiates (RFC 854, RFC 1143 Q method for every option):
//
//   - Character mode: we offer WILL ECHO and WILL SGA. We never send DO SGA
//     (busybox answers it with the wrong verb) and never send GA. A client's
//     WILL ECHO is refused. Because we hold ECHO, the client does not echo
//     locally: the server side must echo what the user types (see Conn.SetEcho).
//   - DO NAWS (RFC 1073): window sizes; 0 means unknown, values are clamped
//     to 1..MaxDimension. busybox's unescaped 0xFF inside NAWS is tolerated.
//   - DO TTYPE (RFC 1091): names are lowercased; the list is cycled until a
//     name repeats, asking at most 8 times; Engine.Term picks the best.
//   - DO NEW-ENVIRON (RFC 1572): variables are hints only. They must never be
//     used for authentication (inetutils telnetd's USER="-f root" bypass).
//   - BINARY (RFC 856) is accepted in either direction when the client asks;
//     we never ask for it.
//   - Everything else is refused: WILL x is answered DONT x, DO x with WONT x
//     (LINEMODE and TM included). Unknown IAC commands are ignored.
//
// Input rules: IAC IAC is a data 0xFF; IAC IP and IAC BRK become 0x03
// (ctrl+c), IAC EC 0x7f and IAC EL 0x15. CR NUL and CR LF are one Enter and
// are delivered as a single CR at once; the following LF or NUL is dropped
// even when it arrives in a later Feed. A bare LF stays LF. When the client
// sends BINARY, NUL after CR is data, but CR LF is still one Enter.
// Subnegotiations are capped at MaxSubnegotiation bytes; a longer one is
// consumed and dropped with memory bounded.
package telnet
