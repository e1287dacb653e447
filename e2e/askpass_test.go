package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// writeAskpass writes an SSH_ASKPASS program that answers password.
func writeAskpass(t *testing.T, password string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "askpass")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+password+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// passwordSSH is an OpenSSH command line that logs in with password
// authentication only, answering the prompt once with password.
func (s *server) passwordSSH(t *testing.T, password, user, command string) string {
	t.Helper()
	return "SSH_ASKPASS=" + writeAskpass(t, password) + " SSH_ASKPASS_REQUIRE=force ssh -F /dev/null" +
		" -o PubkeyAuthentication=no -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" +
		" -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR -p " + s.port() + " " + user + "@127.0.0.1 " + command
}
