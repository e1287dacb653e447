package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestCrashShort is the short version of the load tool's crash test
// (issue 5): 20 sessions type at 10 keys/s, the server is killed with
// SIGKILL, restarted on the same data dir, and every session must come
// back having lost only keys typed in the 200 ms before the kill.
func TestCrashShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := BuildServer(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(ctx, ServerOptions{Bin: bin, DataDir: t.TempDir(), Env: OneSourceEnv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	signer, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Dialer: Dialer{Addr: srv.Addr, Signer: signer}, Marker: "ctrl+b ? help",
		Detach: []byte{0x02, 'd'}, Newline: []byte{'\r'}}
	users := make([]string, 20)
	for i := range users {
		users[i] = fmt.Sprintf("crash%02d", i)
	}
	res, err := Crash(ctx, srv, target, users, 8, 10, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d/%d back, %d of %d keys lost, oldest lost %v before the kill", res.Back, res.Sessions, res.Lost, res.Typed, res.MaxLostAge)
	if !res.OK() {
		t.Fatalf("crash test failed: %+v", res)
	}
}
