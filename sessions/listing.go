package sessions

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
		out = append(out, j)
	}
	return out
}

// WriteTable prints listings for people. Names and remotes are shown with
// control characters escaped (tui.Printable, SPEC §4): a name stored before
// names refused them cannot clear the operator's terminal or shift columns.
func WriteTable(w io.Writer, infos []Info, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tSTATE\tIDLE\tCLIENTS\tAPPS")
	for _, in := range infos {
		var clients, apps []string
		for _, c := range in.Clients {
			clients = append(clients, tui.Printable(c.Transport+":"+c.Remote))
		}
		for _, a := range in.Apps {
			apps = append(apps, tui.Printable(a.App))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tui.Printable(in.ID[:min(12, len(in.ID))]), tui.Printable(in.Owner), tui.Printable(in.Name), in.State,
			now.Sub(in.LastInputAt).Round(time.Second), strings.Join(clients, ","), strings.Join(apps, ","))
	}
	tw.Flush()
}
