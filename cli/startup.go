package cli

import (
	"fmt"
	"io"
	"log/slog"
)

// startup writes serve's startup lines (listen addresses, host keys,
// "ready") to standard output: plain text in log_format text, which people,
// the README and the e2e harness read ("ssh listening on ADDR", "ready"),
// and one JSON record per line in log_format json, so that a log collector
// reading both streams gets nothing but JSON (SPEC §11).
type startup struct {
	w    io.Writer
	json *slog.Logger // nil in text mode
}

func newStartup(format string, w io.Writer) *startup {
	s := &startup{w: w}
	if format == "json" {
		s.json = newLogger("json", w)
	}
	return s
}

// say writes text as one line in text mode, or an INFO record msg with
// args (slog key-value pairs) in json mode.
func (s *startup) say(text, msg string, args ...any) {
	if s.json == nil {
		fmt.Fprintln(s.w, text)
		return
	}
	s.json.Info(msg, args...)
}
