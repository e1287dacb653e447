package persisttest

import (
	"fmt"
	"testing"
	"time"

	"termhost/persist"
)

func testAudit(t *testing.T, fresh opener) {
	s := fresh(t)
	got, err := s.AuditLog(t.Context(), 10)
	noErr(t, err, "AuditLog before any")
	if len(got) != 0 {
		t.Fatalf("AuditLog before any = %d entries, want 0", len(got))
	}
	const n = 5
	var all []persist.AuditEntry
	for i := range n {
		e := persist.AuditEntry{
			At:     t0.Add(time.Duration(i) * time.Second),
			Actor:  "root",
			Action: "sessions kill",
			Target: fmt.Sprintf("session-%d", i),
			Detail: "reason: test ✓",
		}
		noErr(t, s.AppendAudit(t.Context(), e), "AppendAudit")
		all = append(all, e)
	}

	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"fewer than stored", 3, 3},
		{"exactly stored", n, n},
		{"more than stored", 100, n},
		{"one", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.AuditLog(t.Context(), tt.limit)
			noErr(t, err, "AuditLog")
			if len(got) != tt.want {
				t.Fatalf("AuditLog(%d) = %d entries, want %d", tt.limit, len(got), tt.want)
			}
			for i, g := range got {
				w := all[n-1-i] // newest first
				if g.Actor != w.Actor || g.Action != w.Action || g.Target != w.Target || g.Detail != w.Detail || !sameMS(g.At, w.At) {
					t.Errorf("AuditLog(%d)[%d] = %+v, want %+v", tt.limit, i, g, w)
				}
			}
		})
	}
}
