// Package sshtest holds what tests in several packages do with SSH keys
// and Go SSH clients, written once.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// Signer draws a fresh ed25519 key as an SSH signer; an error fails tb.
func Signer(tb testing.TB) gossh.Signer {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Run runs cmd in a new session of c (no pty) and returns its exit status
// and output; any failure but a non-zero exit status fails tb.
func Run(tb testing.TB, c *gossh.Client, cmd string) (code int, stdout, stderr string) {
	tb.Helper()
	return RunIn(tb, c, cmd, "")
}

// RunIn is Run with stdin as the command's input.
func RunIn(tb testing.TB, c *gossh.Client, cmd, stdin string) (code int, stdout, stderr string) {
	tb.Helper()
	sess, err := c.NewSession()
	if err != nil {
		tb.Fatal(err)
	}
	defer sess.Close()
	var out, errOut strings.Builder
	sess.Stdin, sess.Stdout, sess.Stderr = strings.NewReader(stdin), &out, &errOut
	err = sess.Run(cmd)
	var ee *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitStatus()
	default:
		tb.Fatalf("ssh %q: %v", cmd, err)
	}
	return code, out.String(), errOut.String()
}
