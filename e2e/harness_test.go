// Package e2e drives a real `termhost serve` with the clients people use:
// OpenSSH `ssh` (and later telnet) inside tmux, typed with send-keys and
// read with capture-pane.
package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/pgtest"
	"termhost/internal/testterm"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv(echoFloorEnv) == "1" {
		echoFloorServer() // a child of TestWebBenchKeyEcho, not a test run
		return
	}
	dir, err := os.MkdirTemp("", "termhost-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "termhost")
	// The server is built like the tests: with -race when they run with it.
	build := exec.Command("go", "build", "-o", binary, "..")
	if raceEnabled && os.Getenv("TERMHOST_E2E_NORACE") == "" {
		build = exec.Command("go", "build", "-race", "-o", binary, "..")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	startPlainBuild(dir) // beside it: the abuse suite's build without -race
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building termhost:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := pgtest.Cleanup(); err != nil { // the cluster tests' PostgreSQL, if one ran
		fmt.Fprintln(os.Stderr, err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips when a client program is missing, or fails under
// TERMHOST_E2E=1 (CI), where a missing tool is a broken setup.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("TERMHOST_E2E") == "1" {
				t.Fatalf("TERMHOST_E2E=1 but %s is not installed: %v", tool, err)
			}
			t.Skipf("%s is not installed (install it, or set TERMHOST_E2E=1 to make this a failure)", tool)
		}
	}
}

// server is one `termhost serve` process.
type server struct {
	t        *testing.T
	dataDir  string
	args     []string
	cmd      *exec.Cmd
	sshAddr  string
	telAddr  string
	httpAddr string // set when a test passes --http-addr
	out      *testterm.Buffer
	errOut   *testterm.Buffer
	done     chan struct{}
	bin      string   // the termhost binary; "" means the one TestMain built
	races    []string // data race reports of earlier runs (before a restart)
}

// raceReport is how a -race binary starts a report on stderr; it goes on
// serving after it, so only its stderr tells.
const raceReport = "WARNING: DATA RACE"

// keepRaces keeps the race reports of the run whose stderr is errOut.
func (s *server) keepRaces() {
	if s.errOut == nil {
		return
	}
	if i := strings.Index(s.errOut.String(), raceReport); i >= 0 {
		s.races = append(s.races, s.errOut.String()[i:])
	}
}

// checkRaces fails the test when any run of the server reported a data
// race (the server is built with -race when the tests are).
func (s *server) checkRaces() {
	s.keepRaces()
	for _, r := range s.races {
		s.t.Errorf("termhost serve (%s) reported a data race:\n%s", s.dataDir, r)
	}
	s.races = nil
}

// startServer runs termhost serve on free loopback ports with a fresh data
// dir (or dataDir when given) and waits until it is ready.
func startServer(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, dataDir: dataDir, args: args}
	s.start()
	t.Cleanup(func() {
		s.stop()
		s.checkRaces()
	})
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	args := append([]string{"serve", "--data-dir", s.dataDir, "--ssh-addr", "127.0.0.1:0", "--telnet-addr", "", "--http-addr", "", "--metrics-addr", ""}, s.args...)
	bin := binary
	if s.bin != "" {
		bin = s.bin
	}
	s.cmd = exec.Command(bin, args...)
	s.keepRaces() // of the run before a restart
	s.out, s.errOut = &testterm.Buffer{}, &testterm.Buffer{}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, s.errOut
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	s.done = make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.out.Write([]byte(line + "\n"))
			line = startupText(line)
			if addr, ok := strings.CutPrefix(line, "ssh listening on "); ok {
				s.sshAddr = addr
			}
			if rest, ok := strings.CutPrefix(line, "http listening on "); ok {
				s.httpAddr, _, _ = strings.Cut(rest, " ")
			}
			if rest, ok := strings.CutPrefix(line, "telnet listening on "); ok {
				s.telAddr, _, _ = strings.Cut(rest, " ")
			}
			if line == "ready" {
				close(ready)
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("termhost serve exited early:\n%s\n%s", s.out.String(), s.errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("termhost serve not ready:\n%s\n%s", s.out.String(), s.errOut.String())
	}
}

func (s *server) port() string {
	_, port, _ := strings.Cut(s.sshAddr, ":")
	return port
}

func (s *server) telnetPort() string {
	_, port, _ := strings.Cut(s.telAddr, ":")
	return port
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("termhost did not stop on SIGTERM:\n%s", s.errOut.String())
	}
}

// kill9 kills the server the hard way.
func (s *server) kill9() {
	s.cmd.Process.Kill()
	<-s.done
}

// restart starts the server again on the same data dir (new ports).
func (s *server) restart() {
	s.start()
}

// run executes a termhost subcommand against this server's data dir.
func (s *server) run(stdin string, args ...string) (string, error) {
	args = append(args, "--data-dir", s.dataDir)
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// keyFile writes a fresh ed25519 key in OpenSSH format and returns its path.
func keyFile(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	return path
}

// sshCmd is the OpenSSH command line for user with key on the server.
func (s *server) sshCmd(key, user string, extra ...string) string {
	args := []string{"ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", s.port()}
	args = append(args, extra...)
	args = append(args, user+"@127.0.0.1")
	return strings.Join(args, " ")
}

// sshExec runs a non-interactive ssh command and returns its output.
func (s *server) sshExec(key, user string, command ...string) (string, error) {
	args := strings.Fields(s.sshCmd(key, user))
	args = append(args, command...)
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startupText turns a JSON startup record (log_format json) back into the
// text line the harness reads ("ssh listening on ADDR", "ready"); a text
// line comes back unchanged.
func startupText(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var rec struct {
		Msg, Listener, Addr string
	}
	if json.Unmarshal([]byte(line), &rec) != nil {
		return line
	}
	switch {
	case rec.Msg == "listening" && rec.Listener == "web":
		return "http listening on " + rec.Addr
	case rec.Msg == "listening":
		return rec.Listener + " listening on " + rec.Addr
	}
	return rec.Msg
}
