package sessions

import (
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// WriteJSON writes `sessions list --json` (SPEC §3): ToJSON(infos, now)
// as encoding/json's Encoder with SetIndent("", "  ") writes it, byte for
// byte, but one element at a time in ≈ 32 KiB writes, without reflection
// and without holding the whole text (≈ 40 MB at 100,000 sessions; issue
// 10 wants that listing under 1 s). Errors are w's, or a time outside
// encoding/json's years 0–9999.
func WriteJSON(w io.Writer, infos []Info, now time.Time) error {
	if len(infos) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	const flushAt = 32 << 10
	buf := make([]byte, 0, flushAt+4<<10)
	buf = append(buf, "[\n"...)
	for i, in := range infos {
		var err error
		if buf, err = appendListing(buf, toJSON(in, now)); err != nil {
			return err
		}
		if i < len(infos)-1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		if len(buf) >= flushAt {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]\n"...)
	_, err := w.Write(buf)
	return err
}

// appendListing appends one element of the listing, indented as the
// second level of WriteJSON's array. The fields and their order are
// JSONSession's (listing_json_test.go compares the two encodings).
func appendListing(b []byte, j JSONSession) ([]byte, error) {
	b = append(b, "  {\n"...)
	b = append(appendKV(b, 4, "id", j.ID), ",\n"...)
	b = append(appendKV(b, 4, "user", j.User), ",\n"...)
	b = append(appendKV(b, 4, "name", j.Name), ",\n"...)
	b = append(appendKV(b, 4, "state", j.State), ",\n"...)
	b = append(appendKV(b, 4, "node", j.Node), ",\n"...)
	b = append(appendKV(b, 4, "created_at", j.CreatedAt), ",\n"...)
	b = append(appendKV(b, 4, "last_input_at", j.LastInputAt), ",\n"...)
	b = append(b, `    "idle_seconds": `...)
	b = strconv.AppendInt(b, j.IdleSeconds, 10)
	b = append(b, ",\n"...)
	b = append(b, `    "clients": `...)
	if len(j.Clients) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, "[\n"...)
		for i, c := range j.Clients {
			b = append(b, "      {\n"...)
			b = append(appendKV(b, 8, "transport", c.Transport), ",\n"...)
			b = append(appendKV(b, 8, "remote_addr", c.Remote), ",\n"...)
			b = append(appendKV(b, 8, "term", c.Term), ",\n"...)
			b = append(b, `        "width": `...)
			b = strconv.AppendInt(b, int64(c.Width), 10)
			b = append(b, ",\n"...)
			b = append(b, `        "height": `...)
			b = strconv.AppendInt(b, int64(c.Height), 10)
			b = append(b, ",\n"...)
			since, err := c.Since.MarshalJSON()
			if err != nil {
				return b, err
			}
			b = append(b, `        "since": `...)
			b = append(b, since...)
			b = append(b, "\n      }"...)
			if i < len(j.Clients)-1 {
				b = append(b, ',')
			}
			b = append(b, '\n')
		}
		b = append(b, "    ]"...)
	}
	b = append(b, ",\n"...)
	b = append(b, `    "apps": `...)
	if len(j.Apps) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, "[\n"...)
		for i, a := range j.Apps {
			b = append(b, "      {\n"...)
			b = append(appendKV(b, 8, "app", a.App), ",\n"...)
			b = append(b, `        "documents": `...)
			if len(a.Documents) == 0 {
				b = append(b, "[]"...)
			} else {
				b = append(b, "[\n"...)
				for k, d := range a.Documents {
					b = append(b, "          "...)
					b = appendString(b, d)
					if k < len(a.Documents)-1 {
						b = append(b, ',')
					}
					b = append(b, '\n')
				}
				b = append(b, "        ]"...)
			}
			b = append(b, "\n      }"...)
			if i < len(j.Apps)-1 {
				b = append(b, ',')
			}
			b = append(b, '\n')
		}
		b = append(b, "    ]"...)
	}
	// ended_at and end_reason are omitempty.
	if j.EndedAt != "" {
		b = appendKV(append(b, ",\n"...), 4, "ended_at", j.EndedAt)
	}
	if j.EndReason != "" {
		b = appendKV(append(b, ",\n"...), 4, "end_reason", j.EndReason)
	}
	return append(b, "\n  }"...), nil
}

// appendKV appends `"key": "value"` at indent spaces.
func appendKV(b []byte, indent int, key, value string) []byte {
	for range indent {
		b = append(b, ' ')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `": `...)
	return appendString(b, value)
}

// appendString appends s as encoding/json quotes it (HTML-safe, invalid
// UTF-8 as U+FFFD): printable ASCII without " \ < > & as it is, anything
// else through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
