package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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
		case a == "--data-dir" || a == "--config" || a == "--store" || a == "-data-dir" || a == "-config" || a == "-store":
			if i+1 < len(args) {
				own = append(own, a, args[i+1])
				i++
			}
		case ownFlag(a):
			own = append(own, a)
		default:
			rest = append(rest, a)
		}
	}
	// Help needs no server: the verbs' usage is admin's.
	if len(rest) == 0 || admin.HelpRequested(rest) {
		verb := ""
		if len(rest) > 0 {
			verb = rest[0]
		}
		w, code := stdout, 0
		if len(rest) == 0 {
			w, code = stderr, 2
		}
		fmt.Fprint(w, strings.ReplaceAll(admin.Usage(verb), "sessions ", "termhost sessions "))
		return code
	}
	cfg, _, _, err := resolve("sessions", own, false, nil)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	sock := filepath.Join(cfg.DataDir, "admin.sock")
	code, err := admin.Call(sock, append([]string{"sessions"}, rest...), stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if errors.Is(err, admin.ErrNoServer) {
			fmt.Fprintf(stderr, noServerHint, sock)
		}
		return 1
	}
	return code
}

// noServerHint follows ErrNoServer: sessions commands ask a running server
// through its admin socket, not the store (newcomer trial: --store was
// tried in a cluster and the error did not say what would work).
const noServerHint = `sessions commands ask the running server through its admin socket (%s):
give the --data-dir (or --config) of a node's termhost serve on this machine; any node
answers for the whole cluster. Where there is no socket (a storage-less node, another
machine), an admin runs the same command over SSH: ssh -p 2222 ADMIN@HOST sessions list
`

// ownFlag reports whether a is --data-dir=…, --config=… or --store=… (one
// or two dashes).
func ownFlag(a string) bool {
	a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	return strings.HasPrefix(a, "data-dir=") || strings.HasPrefix(a, "config=") || strings.HasPrefix(a, "store=")
}
