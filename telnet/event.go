package telnet

// Event is something the client told us through the protocol.
// The concrete types are WindowSize, TerminalType and EnvHints.
type Event interface {
	isEvent()
}

// WindowSize is a NAWS report. A field is 0 while that dimension is still
// unknown; known values are clamped to 1..MaxDimension.
type WindowSize struct {
	Width, Height int
}

// TerminalType is one new name from the client's TTYPE list, lowercased.
// Engine.Term gives the best pick among all names received so far.
type TerminalType struct {
	Name string
}

// EnvHints carries the client's NEW-ENVIRON variables after an IS or INFO
// report, merged over earlier reports. The values are client-controlled
// hints (say, to pre-fill a login name) and must never decide authentication.
type EnvHints struct {
	Vars map[string]string
}

func (WindowSize) isEvent()   {}
func (TerminalType) isEvent() {}
func (EnvHints) isEvent()     {}
