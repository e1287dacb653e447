// Package bench is termhost's load and latency harness: a terminal client
// built on golang.org/x/crypto/ssh that timestamps output as it arrives,
// a driver for real `termhost serve` processes, readers for /proc (RSS,
// PSS, CPU) and GODEBUG=gctrace output, and the phases of the thload
// command (bench/thload): first frame, reattach, key→echo, payload bytes,
// memory per session state, idle CPU, session creation rate and the
// kill -9 crash test. bench/peer/sshd-tmux.sh measures OpenSSH sshd + tmux
// with the same client for comparison. BENCHMARKS.md has the method and
// the results.
//
// The library does not import the server's packages; only the in-process
// benchmarks (*_test.go) do, to profile the server's hot paths.
package bench
