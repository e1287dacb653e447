package telnet

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
)

// unhex parses "61 ff 62" style hex; it panics on a typo in a test table.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// cat joins byte slices.
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// result is everything a run of Feed calls produced, concatenated.
type result struct {
	data   []byte
	events []Event
	reply  []byte
}

// feed feeds the chunks in order and concatenates the outputs.
func feed(e *Engine, chunks ...[]byte) result {
	var r result
	for _, c := range chunks {
		d, ev, rep := e.Feed(c)
		r.data = append(r.data, d...)
		r.events = append(r.events, ev...)
		r.reply = append(r.reply, rep...)
	}
	return r
}

// splits returns in as one piece, as two pieces split at every offset, and
// byte by byte, each with a label.
func splits(in []byte) map[string][][]byte {
	out := map[string][][]byte{"whole": {in}}
	for k := 1; k < len(in); k++ {
		out["split@"+strconv.Itoa(k)] = [][]byte{in[:k], in[k:]}
	}
	bytewise := make([][]byte, len(in))
	for i := range in {
		bytewise[i] = in[i : i+1]
	}
	out["bytewise"] = bytewise
	return out
}

// sameResult compares results, treating nil and empty alike.
func sameResult(a, b result) bool {
	return bytes.Equal(a.data, b.data) && bytes.Equal(a.reply, b.reply) &&
		(len(a.events) == 0 && len(b.events) == 0 || reflect.DeepEqual(a.events, b.events))
}
