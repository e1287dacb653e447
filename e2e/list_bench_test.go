package e2e

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"termhost/admin"
	"termhost/internal/pgtest"
	"termhost/persist"
	"termhost/persist/postgres"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

// `sessions list --json` of 100,000 stored sessions (issue 10, target
// < 1 s; BENCHMARKS.md "The store's share"), end to end as an operator
// runs it: the termhost binary against a running `termhost serve` over its
// admin socket, stdout read to the end.
//
//	TERMHOST_LIST_BENCH=1 go test ./e2e -run TestListBench -v -count 1
//
// TERMHOST_LIST_BENCH_BIN=PATH runs another termhost build (server and
// command) instead, e.g. the parent commit's for a before/after pair.
//
// BenchmarkListCommand is the same path in one process (store, manager,
// admin socket, client) for profiles:
//
//	TERMHOST_LIST_BENCH=1 go test ./e2e -run XXX -bench ListCommand -benchtime 5x -cpuprofile /tmp/list.prof
//
// Both skip without the variable and assert nothing about speed.

const listBenchN = 100_000

func listBenchOnly(tb testing.TB) {
	tb.Helper()
	if os.Getenv("TERMHOST_LIST_BENCH") != "1" {
		tb.Skip("set TERMHOST_LIST_BENCH=1 to measure sessions list --json of 100,000 sessions")
	}
}

// listBenchFill is one INSERT … SELECT of n sessions shaped like a big
// install: 1,000 users; 2 % attached (one client each), 38 % detached, 60 %
// hibernated; every session has a Notes tab on one of its owner's
// documents, a third a second Notes document, a quarter a Chat tab. %s is
// the row source: a series i = 1…n. Times are recent (nothing is due for
// the policy sweep while the benchmark runs); attached and detached
// sessions belong to nodes node-b and node-c, which listBenchNodes makes
// alive. Dialect: SQLite and PostgreSQL both (printf vs lpad is the only
// difference, passed in).
func listBenchFill(rows, pad string, nowMS int64) string {
	return fmt.Sprintf(`INSERT INTO sessions(id, owner, name, state, node, created_at, last_input_at, detached_at, epoch, apps, attachments)
	SELECT 'b' || %[2]s, 'user' || (i %% 1000), 's' || i,
		CASE WHEN i %% 50 = 0 THEN 'attached' WHEN i %% 5 < 2 THEN 'detached' ELSE 'hibernated' END,
		CASE WHEN i %% 5 < 2 OR i %% 50 = 0 THEN 'node-' || CASE WHEN i %% 2 = 0 THEN 'b' ELSE 'c' END ELSE '' END,
		%[3]d - (%[4]d - i) * 1000, %[3]d - (%[4]d - i) * 500,
		CASE WHEN i %% 50 = 0 THEN 0 ELSE %[3]d - 1000 END, 1,
		'[{"app":"notes","documents":["plan-' || (i %% 1000) || '"' ||
			CASE WHEN i %% 3 = 0 THEN ',"meeting notes ' || (i %% 7) || '"' ELSE '' END || ']}' ||
			CASE WHEN i %% 4 = 0 THEN ',{"app":"chat","documents":[]}' ELSE '' END || ']',
		CASE WHEN i %% 50 = 0 THEN '[{"transport":"ssh","remote_addr":"192.0.2.' || (i %% 250) || ':50022","term":"xterm-256color","width":120,"height":40,"since":"2026-11-30T08:00:00Z"}]' ELSE '[]' END
	FROM %[1]s`, rows, pad, nowMS, listBenchN)
}

// listBenchNodes makes node-b and node-c, the owners of the attached and
// detached rows, alive for the whole run (last seen a day ahead), so the
// orphan sweep leaves their sessions alone as it would a live cluster's.
func listBenchNodes(nowMS int64) string {
	return fmt.Sprintf(`INSERT INTO nodes(id, boot, addr, started_at, seen_at) VALUES
		('node-b', 'boot-b', '127.0.0.1:1', %[1]d, %[2]d), ('node-c', 'boot-c', '127.0.0.1:1', %[1]d, %[2]d)`, nowMS, nowMS+24*3600*1000)
}

// listBenchSQLite fills the SQLite store of dataDir (its schema made by a
// server that ran on it, or runs).
func listBenchSQLite(tb testing.TB, dataDir string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "termhost.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	series := fmt.Sprintf(`(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) SELECT i FROM c)`, listBenchN)
	now := time.Now().UnixMilli()
	if _, err := db.Exec(listBenchFill(series, "printf('%025d', i)", now)); err != nil {
		tb.Fatalf("fill sqlite: %v", err)
	}
	if _, err := db.Exec(listBenchNodes(now)); err != nil {
		tb.Fatalf("fill sqlite nodes: %v", err)
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// listBenchPostgres fills the PostgreSQL store at dsn (schema migrated).
func listBenchPostgres(tb testing.TB, dsn string) {
	tb.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	series := fmt.Sprintf(`generate_series(1, %d) AS i`, listBenchN)
	now := time.Now().UnixMilli()
	if _, err := c.Exec(ctx, listBenchFill(series, "lpad(i::text, 25, '0')", now)); err != nil {
		tb.Fatalf("fill postgres: %v", err)
	}
	if _, err := c.Exec(ctx, listBenchNodes(now)); err != nil {
		tb.Fatalf("fill postgres nodes: %v", err)
	}
	if _, err := c.Exec(ctx, `ANALYZE sessions`); err != nil {
		tb.Fatal(err)
	}
}

// listBenchCheck decodes one listing and checks its shape (SPEC §3).
func listBenchCheck(tb testing.TB, out []byte) {
	tb.Helper()
	var list []jsonSession
	if err := json.Unmarshal(out, &list); err != nil {
		tb.Fatalf("sessions list --json: %v\n%.500s", err, out)
	}
	if len(list) != listBenchN {
		tb.Fatalf("sessions list --json: %d sessions, want %d", len(list), listBenchN)
	}
	first, attached := list[0], list[49]
	if !strings.HasPrefix(first.ID, "b") || first.User != "user1" || first.State != "detached" || first.IdleSeconds == nil ||
		len(first.Apps) != 1 || first.Apps[0].App != "notes" || !slices.Equal(first.Apps[0].Documents, []string{"plan-1"}) || first.Clients == nil {
		tb.Errorf("first listed session = %+v", first)
	}
	if attached.State != "attached" || len(attached.Clients) != 1 || attached.Clients[0].Width != 120 {
		tb.Errorf("50th listed session = %+v", attached)
	}
}

// TestListBench times `termhost sessions list --json` against a running
// server on SQLite (one node) and on PostgreSQL, five runs each.
func TestListBench(t *testing.T) {
	listBenchOnly(t)
	for _, tt := range []struct {
		name string
		fill func(t *testing.T, bin string) (dataDir string, args []string)
	}{
		{name: "sqlite", fill: func(t *testing.T, bin string) (string, []string) {
			dir := t.TempDir()
			s := &server{t: t, dataDir: dir, bin: bin} // makes the schema
			s.start()
			s.stop()
			listBenchSQLite(t, dir)
			return dir, nil
		}},
		{name: "postgres", fill: func(t *testing.T, _ string) (string, []string) {
			dsn := pgtest.DSN(t)
			st, err := postgres.Open(t.Context(), dsn) // makes the schema
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			listBenchPostgres(t, dsn)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "termhost.yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf("store: %q\nnode_id: a\n", dsn)), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir, []string{"--config", cfg}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := cmp.Or(os.Getenv("TERMHOST_LIST_BENCH_BIN"), binary)
			dir, args := tt.fill(t, bin)
			s := &server{t: t, dataDir: dir, args: args, bin: bin}
			s.start()
			t.Cleanup(s.stop)
			var ds []time.Duration
			for i := range 5 {
				cmd := exec.Command(bin, append([]string{"sessions", "list", "--json", "--data-dir", s.dataDir}, args...)...)
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				var out []byte
				if i == 0 {
					out, err = io.ReadAll(stdout)
				} else {
					_, err = io.Copy(io.Discard, stdout)
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("sessions list --json: %v", err)
				}
				ds = append(ds, time.Since(start))
				if i == 0 {
					listBenchCheck(t, out)
					t.Logf("output %d bytes", len(out))
				}
			}
			up, _ := exec.Command("uptime").Output()
			t.Logf("%s: sessions list --json of %d stored sessions: min %v, %s; %s", tt.name, listBenchN,
				slices.Min(ds).Round(time.Millisecond), quantiles(ds), strings.TrimSpace(string(up)))
		})
	}
}

// BenchmarkListCommand is TestListBench's path in one process, for CPU
// profiles: the store, a Manager, the admin socket and admin.Call.
func BenchmarkListCommand(b *testing.B) {
	listBenchOnly(b)
	for _, tt := range []struct {
		name string
		open func(b *testing.B) persist.Store
	}{
		{name: "sqlite", open: func(b *testing.B) persist.Store {
			dir := b.TempDir()
			st, err := sqlite.Open(b.Context(), filepath.Join(dir, "termhost.db"))
			if err != nil {
				b.Fatal(err)
			}
			listBenchSQLite(b, dir)
			return st
		}},
		{name: "postgres", open: func(b *testing.B) persist.Store {
			dsn := pgtest.DSN(b)
			st, err := postgres.Open(b.Context(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			listBenchPostgres(b, dsn)
			return st
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st := tt.open(b)
			defer st.Close()
			mgr := sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "a", Registry: apps.Registry()})
			defer mgr.Shutdown(context.Background(), "bench over")
			path := filepath.Join(b.TempDir(), "admin.sock")
			sock, err := admin.ListenSocket(path, &admin.Runner{Manager: mgr, Audit: st, Now: time.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			defer sock.Close()
			var errOut strings.Builder
			for b.Loop() {
				if code, err := admin.Call(path, []string{"sessions", "list", "--json"}, io.Discard, &errOut); err != nil || code != 0 {
					b.Fatalf("list: %d %v %s", code, err, errOut.String())
				}
			}
			b.ReportMetric(listBenchN, "sessions/op")
		})
	}
}
