package sessions

import (
	"fmt"
	"io"
	"strings"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// JSONSession is one element of `sessions list --json` (SPEC §3).
type JSONSession struct {
	ID          string        `json:"id"`
	User        string        `json:"user"`
	Name        string        `json:"name"`
	State       string        `json:"state"`
	Node        string        `json:"node"`
	CreatedAt   string        `json:"created_at"`
	LastInputAt string        `json:"last_input_at"`
	IdleSeconds int64         `json:"idle_seconds"`
	Clients     []ClientView  `json:"clients"`
	Apps        []persist.App `json:"apps"`
	EndedAt     string        `json:"ended_at,omitempty"`
	EndReason   string        `json:"end_reason,omitempty"`
}

// ToJSON converts listings to their JSON form.
func ToJSON(infos []Info, now time.Time) []JSONSession {
	out := make([]JSONSession, 0, len(infos))
	for _, in := range infos {
		out = append(out, toJSON(in, now))
	}
	return out
}

// toJSON is one listing's JSON form: times in RFC 3339 (UTC, seconds),
// empty lists as [] (SPEC §3).
func toJSON(in Info, now time.Time) JSONSession {
	j := JSONSession{ID: in.ID, User: in.Owner, Name: in.Name, State: in.State, Node: in.Node,
		CreatedAt: in.CreatedAt.UTC().Format(time.RFC3339), LastInputAt: in.LastInputAt.UTC().Format(time.RFC3339),
		IdleSeconds: int64(now.Sub(in.LastInputAt).Seconds()), Clients: in.Clients, Apps: in.Apps, EndReason: in.EndReason}
	if j.Clients == nil {
		j.Clients = []ClientView{}
	}
	if j.Apps == nil {
		j.Apps = []persist.App{}
	}
	for i := range j.Apps {
		if j.Apps[i].Documents == nil {
			j.Apps[i].Documents = []string{}
		}
	}
	if !in.EndedAt.IsZero() {
		j.EndedAt = in.EndedAt.UTC().Format(time.RFC3339)
	}
	return j
}

// WriteTable prints listings for people. Names and remotes are shown with
// control and invisible characters escaped (tui.Printable, SPEC §4): a
// name stored before names refused them cannot clear the operator's
// terminal. Columns are as wide as their widest cell in terminal cells
// (tui.Width), plus two spaces, so a wide (CJK) name keeps them aligned.
func WriteTable(w io.Writer, infos []Info, now time.Time) {
	rows := [][]string{{"ID", "USER", "NAME", "STATE", "NODE", "IDLE", "CLIENTS", "APPS"}}
	for _, in := range infos {
		var clients, apps []string
		for _, c := range in.Clients {
			clients = append(clients, tui.Printable(c.Transport+":"+c.Remote))
		}
		for _, a := range in.Apps {
			apps = append(apps, tui.Printable(a.App))
		}
		rows = append(rows, []string{tui.Printable(in.ID[:min(12, len(in.ID))]), tui.Printable(in.Owner), tui.Printable(in.Name), in.State,
			tui.Printable(in.Node), now.Sub(in.LastInputAt).Round(time.Second).String(), strings.Join(clients, ","), strings.Join(apps, ",")})
	}
	writeColumns(w, rows)
}

// writeColumns prints rows as columns padded to their widest cell in
// terminal cells (tui.Width) plus two spaces; the last column is not
// padded and trailing blanks are trimmed.
func writeColumns(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], tui.Width(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-tui.Width(c)+2))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
