package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"termhost/admin"
)

// sessionsCmd forwards admin verbs to the running server's admin socket.
func sessionsCmd(args []string, stdout, stderr io.Writer) int {
	// Only --config/--data-dir are ours; everything else goes to the server.
	var rest []string
	var own []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--data-dir" || a == "--config" || a == "-data-dir" || a == "-config":
			if i+1 < len(args) {
				own = append(own, a, args[i+1])
				i++
			}
		case len(a) > 11 && (a[:11] == "--data-dir=" || a[:9] == "--config="):
			own = append(own, a)
		default:
			rest = append(rest, a)
		}
	}
	cfg, _, err := resolve("sessions", own, false, stderr, nil)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	code, err := admin.Call(filepath.Join(cfg.DataDir, "admin.sock"), append([]string{"sessions"}, rest...), stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return code
}
