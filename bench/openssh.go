package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// OpenSSHResult times the OpenSSH client as a whole process: exec of ssh
// on a pty until the first complete screen is on that terminal.
type OpenSSHResult struct {
	New        Summary `json:"new"`    // first login: a new session
	Attach     Summary `json:"attach"` // the same users again: reattach a detached session
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
}

// SSHArgs is an OpenSSH command line for user@addr with key: no config
// file, no known-hosts, batch mode. command may be empty (a shell).
func SSHArgs(addr, key, user string, command string) []string {
	host, port, _ := net.SplitHostPort(addr)
	argv := []string{"ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", port}
	if command != "" {
		argv = append(argv, "-t")
	}
	argv = append(argv, user+"@"+host)
	if command != "" {
		argv = append(argv, strings.Fields(command)...)
	}
	return argv
}

// OpenSSH runs argv(i) on a pty for i < n (new sessions), then again for
// the same i (reattach), each until marker(i) is on screen; detach keys
// end each run.
func OpenSSH(ctx context.Context, argv func(i int) []string, marker func(i int) string, detach []byte, n int) OpenSSHResult {
	var res OpenSSHResult
	if _, err := exec.LookPath("ssh"); err != nil {
		res.FirstError = "OpenSSH client not installed: " + err.Error()
		return res
	}
	env := []string{"TERM=xterm-256color"}
	for _, pass := range []*Summary{&res.New, &res.Attach} {
		var ds []time.Duration
		for i := 0; i < n && ctx.Err() == nil; i++ {
			run, err := RunOnPTY(ctx, argv(i), env, marker(i), detach, 15*time.Second)
			if err != nil {
				res.Errors++
				if res.FirstError == "" {
					res.FirstError = fmt.Sprintf("run %d: %v", i, err)
				}
				continue
			}
			ds = append(ds, run.Frame)
		}
		*pass = Summarize(ds)
	}
	return res
}
