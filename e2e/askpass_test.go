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
