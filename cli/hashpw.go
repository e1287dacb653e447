package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

const hashPasswordUsage = "usage: termhost hash-password [--password-stdin]\n" +
	"prints the argon2id hash of a password for the config file's users list (store: memory, SPEC §10);\n" +
	"without --password-stdin, asks twice on the terminal\n"

// hashPasswordCmd prints a password's argon2id hash (auth.HashPassword,
// the form the store keeps) for `users: [{password_hash: …}]`: a memory
// node has no store for `termhost user add` to write to.
func hashPasswordCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, hashPasswordUsage)
			return 0
		}
		fmt.Fprint(stderr, hashPasswordUsage)
		return 2
	}
	u := userOps{stdin: stdin, stdout: stdout}
	var h string
	var err error
	if *pwStdin {
		h, err = u.readPassword()
	} else {
		if u.prompt = terminalPrompt(stdin, stderr); u.prompt == nil {
			fmt.Fprintf(stderr, "error: standard input is not a terminal: pass --password-stdin\n%s", hashPasswordUsage)
			return 2
		}
		h, err = u.askPassword()
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}
