package telnet

import (
	"maps"
	"unicode"
	"unicode/utf8"
)

// NEW-ENVIRON (RFC 1572) type codes.
const (
	envVar     byte = 0
	envValue   byte = 1
	envEsc     byte = 2
	envUserVar byte = 3
)

// maxEnvVars caps how many variables we keep from one client.
const maxEnvVars = 64

// envReport handles SB NEW-ENVIRON IS|INFO: IS replaces what we had, INFO
// updates it. The result is reported as EnvHints, hints only.
func (e *Engine) envReport(p []byte, out *output) {
	if len(p) == 0 || (p[0] != sbIS && p[0] != sbINFO) {
		return
	}
	if p[0] == sbIS || e.env == nil {
		e.env = make(map[string]string)
	}
	e.envSeen = true
	for name, value := range parseEnv(p[1:]) {
		if _, ok := e.env[name]; ok || len(e.env) < maxEnvVars {
			e.env[name] = value
		}
	}
	out.events = append(out.events, EnvHints{Vars: maps.Clone(e.env)})
}

// parseEnv reads a list of (VAR|USERVAR) name [VALUE value]. A name without
// VALUE is an undefined variable and is skipped, as is any name or value
// that is empty, not UTF-8 or holds control characters.
func parseEnv(p []byte) map[string]string {
	vars := make(map[string]string)
	var name, value []byte
	haveName, inValue := false, false
	flush := func() {
		if haveName && inValue && printable(name) && (len(value) == 0 || printable(value)) {
			vars[string(name)] = string(value)
		}
		name, value, haveName, inValue = name[:0], value[:0], false, false
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch b {
		case envVar, envUserVar:
			flush()
			haveName = true
			continue
		case envValue:
			inValue = haveName
			continue
		case envEsc:
			if i++; i == len(p) {
				continue
			}
			b = p[i]
		}
		switch {
		case inValue:
			value = append(value, b)
		case haveName:
			name = append(name, b)
		}
	}
	flush()
	return vars
}

// printable reports whether s is non-empty UTF-8 without control characters.
func printable(s []byte) bool {
	if len(s) == 0 || !utf8.Valid(s) {
		return false
	}
	for _, r := range string(s) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
