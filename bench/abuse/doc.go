// Package abuse is termhost's hostile-load kit: clients that misbehave on
// purpose (silent sockets, paced floods, parallel and distributed password
// guessing, forged PROXY headers, huge windows, long commands, big pastes,
// a reader that stalls) and the measurements taken while they run — a
// legitimate user's time to first frame from another loopback address,
// the server's peak resident memory and its CPU time.
//
// Each attack is one function that takes a Target and returns what it
// measured; the abuse end-to-end suite (e2e/abuse_test.go) asserts on the
// results and bench/hostile prints them for BENCHMARKS.md. Like package
// bench, it imports none of the server's packages and talks only to
// loopback addresses (127.0.0.0/8): every source address it dials from is
// checked by Loopback.
package abuse
