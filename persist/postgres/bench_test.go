package postgres_test

import (
	"fmt"
	"testing"

	"termhost/internal/pgtest"
	"termhost/persist"
	"termhost/persist/persisttest"
)

// BenchmarkRenewLeases: one node's renewal (one statement) with n sessions
// of its own among 2n (issue 10: lease-renewal cost per node at 10,000).
func BenchmarkRenewLeases(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := open(b, pgtest.DSN(b))
			defer s.Close()
			persisttest.BenchRenewLeases(b, s, n)
		})
	}
}

// BenchmarkListSessions100k: ListSessions of every live session with
// 100,000 stored (issue 10: `sessions list --json` of 100,000 stored
// sessions under 1 s; this is the store's share). The rows are written in
// one INSERT … SELECT: the benchmark is of the read.
func BenchmarkListSessions100k(b *testing.B) {
	const n = 100_000
	s := open(b, pgtest.DSN(b))
	defer s.Close()
	ctx := b.Context()
	if _, err := s.Pool().Exec(ctx, `INSERT INTO sessions(id, owner, name, state, node, created_at, last_input_at, epoch, apps, attachments)
		SELECT 'bench' || lpad(i::text, 21, '0'), 'user' || (i % 1000), 's' || i,
			CASE i % 3 WHEN 0 THEN 'attached' WHEN 1 THEN 'detached' ELSE 'hibernated' END,
			'node-' || (i % 3), 1700000000000 + i, 1700000000000 + i, 1,
			'[{"app":"notes","documents":["d1","d2"]},{"app":"chat","documents":[]}]',
			CASE i % 3 WHEN 0 THEN '[{"transport":"ssh","remote_addr":"127.0.0.7:5000","term":"xterm-256color","width":80,"height":24,"since":"2026-11-30T08:00:00Z"}]' ELSE '[]' END
		FROM generate_series(1, $1) AS i`, n); err != nil {
		b.Fatalf("fill: %v", err)
	}
	if _, err := s.Pool().Exec(ctx, `ANALYZE sessions`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := s.ListSessions(ctx, persist.SessionFilter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != n {
			b.Fatalf("ListSessions = %d sessions, want %d", len(got), n)
		}
	}
	b.ReportMetric(n, "sessions/op")
}

// BenchmarkPutSnapshot: fenced snapshot writes of 4 KiB (issue 10:
// snapshot writes per second on PostgreSQL vs SQLite), one session at a
// time and from many sessions at once as a node's sessions write.
func BenchmarkPutSnapshot(b *testing.B) {
	for _, sessions := range []int{1, 32} {
		b.Run(fmt.Sprint(sessions, "sessions"), func(b *testing.B) {
			s := open(b, freshDSN(b))
			defer s.Close()
			persisttest.BenchPutSnapshot(b, s, sessions)
		})
	}
}
