// Package cli parses termhost's command line and wires the packages
// together: serve, user and sessions.
package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"syscall"

	"termhost/config"
)

const usage = `usage:
  termhost serve [--config FILE] [--data-dir DIR] [--ssh-addr ADDR] [--telnet-addr ADDR] [--http-addr ADDR] [--store DSN]
                 [--idle-timeout D] [--detached-ttl D] [--hibernate-after D]
  termhost user add NAME [--admin] [--key FILE|KEYTEXT]... [--password-stdin]
  termhost user list [--json] | user del NAME | user passwd NAME --password-stdin
  termhost user key add|del NAME KEY
  termhost sessions list [--json] [--user U] [--state S] | show ID [--json]
  termhost sessions detach ID | kill ID | message ID|--all TEXT | stats [--json]
  termhost logins list [--json] [--user U] | logins revoke ID... | --user U
every command takes --data-dir and --config
`

// Main runs the command line and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Everything we create (database, sockets, keys) is private to the operator.
	syscall.Umask(0o077)
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "user", "users":
		return userCmd(args[1:], stdin, stdout, stderr)
	case "sessions", "session":
		return sessionsCmd(args[1:], stdout, stderr)
	case "logins", "login":
		return loginsCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
	return 2
}

// parse parses flags that may be interleaved with positional arguments
// ("user add bob --admin") and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func resolve(name string, args []string, serve bool, stderr io.Writer, extra func(fs *flag.FlagSet)) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := config.Register(fs, serve)
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return config.Config{}, nil, err
	}
	cfg, err := f.Resolve()
	return cfg, pos, err
}
