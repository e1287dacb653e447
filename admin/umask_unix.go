package admin

import "syscall"

// syscallUmask sets the process umask so the socket is born 0600.
func syscallUmask(mask int) int { return syscall.Umask(mask) }
