package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func query(ctx context.Context, dsn string) (int, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(ctx, "SELECT 41 + 1").Scan(&n)
	return n, err
}

// TestServerLifecycle: a fresh database answers; Stop makes it unreachable;
// Start and Restart bring it back on the same port with the data kept.
func TestServerLifecycle(t *testing.T) {
	srv := Shared(t)
	dsn := DSN(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	steps := []struct {
		name   string
		do     func() error
		wantUp bool
	}{
		{"fresh database", func() error { return nil }, true},
		{"stopped", srv.Stop, false},
		{"stopped twice", srv.Stop, false},
		{"started", srv.Start, true},
		{"restarted", srv.Restart, true},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		n, err := query(ctx, dsn)
		if st.wantUp && (err != nil || n != 42) {
			t.Fatalf("%s: query = %d, %v; want 42", st.name, n, err)
		}
		if !st.wantUp && err == nil {
			t.Fatalf("%s: query succeeded, want a connection error", st.name)
		}
	}
}

// TestDatabasesAreSeparate: two DSN calls give two databases.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSN calls gave one database %s", a)
	}
	ctx := t.Context()
	c, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	d, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	var n int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("table of database a seen in b: %d, %v", n, err)
	}
}

func TestFindBinaries(t *testing.T) {
	dir, err := FindBinaries()
	if err != nil {
		t.Skipf("no binaries: %v", err)
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if !isExec(dir + "/" + tool) {
			t.Errorf("%s/%s is not executable", dir, tool)
		}
	}
}

// TestTemplate: a database made from a template has what prepare made, and
// prepare runs once however many copies are taken.
func TestTemplate(t *testing.T) {
	runs := 0
	prepare := func(ctx context.Context, dsn string) error {
		runs++
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, "CREATE TABLE prepared (x int); INSERT INTO prepared VALUES (7)")
		return err
	}
	for i := range 2 {
		tmpl := Template(t, "test", prepare)
		dsn := DSNFrom(t, tmpl)
		n, err := func() (int, error) {
			d, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				return 0, err
			}
			defer d.Close(context.Background())
			var n int
			return n, d.QueryRow(t.Context(), "SELECT x FROM prepared").Scan(&n)
		}()
		if err != nil || n != 7 {
			t.Fatalf("copy %d: SELECT x FROM prepared = %d, %v; want 7", i, n, err)
		}
	}
	if runs != 1 {
		t.Fatalf("prepare ran %d times, want 1", runs)
	}
}

// TestReusableDSN: a database handed out again comes back empty (rows and
// sequences reset) except for the kept tables.
func TestReusableDSN(t *testing.T) {
	tmpl := Template(t, "reuse", func(ctx context.Context, dsn string) error {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (1);
			CREATE TABLE data (id BIGSERIAL PRIMARY KEY, v text)`)
		return err
	})
	type state struct{ kept, data, nextID int }
	var dsns []string
	for i := range 2 {
		var got state
		t.Run(fmt.Sprint("use ", i), func(t *testing.T) {
			dsn := ReusableDSN(t, tmpl, "kept")
			dsns = append(dsns, dsn)
			c, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			ctx := t.Context()
			if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM kept), (SELECT count(*) FROM data)`).Scan(&got.kept, &got.data); err != nil {
				t.Fatal(err)
			}
			if err := c.QueryRow(ctx, `INSERT INTO data(v) VALUES ('x') RETURNING id`).Scan(&got.nextID); err != nil {
				t.Fatal(err)
			}
			if want := (state{kept: 1, data: 0, nextID: 1}); got != want {
				t.Fatalf("use %d: %+v, want %+v", i, got, want)
			}
		})
	}
	if len(dsns) == 2 && dsns[0] != dsns[1] {
		t.Fatalf("the second use got a new database %s, want %s again", dsns[1], dsns[0])
	}
}

// TestCommitsSurviveStop: a commit acknowledged just before an immediate
// stop (a crash, as the outage tests use it) is there after Start. With
// synchronous_commit off the last ~200 ms of commits were lost, which made
// a node's freshly taken lease vanish in the cluster outage test.
func TestCommitsSurviveStop(t *testing.T) {
	srv := Shared(t)
	dsn := DSN(t)
	ctx := t.Context()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	if _, err := c.Exec(ctx, "CREATE TABLE acked (i int)"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := c.Exec(ctx, "INSERT INTO acked VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	d, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	var got int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM acked").Scan(&got); err != nil || got != n {
		t.Fatalf("after an immediate stop: %d rows (%v), want the %d acknowledged", got, err, n)
	}
}
