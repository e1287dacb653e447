// Package cli parses termhost's command line and wires the packages
// together: serve, user and sessions.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"syscall"

	"termhost/config"
)

const usage = `usage:
  termhost version
  termhost serve [--config FILE] [--data-dir DIR] [--ssh-addr ADDR] [--telnet-addr ADDR] [--http-addr ADDR] [--store DSN]
                 [--idle-timeout D] [--detached-ttl D] [--hibernate-after D] [--max-session-age D]
                 [--login-grace D] [--node-id NAME] [--lease-ttl D] [--cluster-addr ADDR] [--metrics-addr ADDR] [--log-format text|json] [--drain-delay D]
  termhost user add NAME [--admin] [--key FILE|KEYTEXT]... [--password-stdin]
  termhost user list [--json] | user del NAME | user passwd NAME [--password-stdin]
  termhost user key add|del NAME KEY
  termhost sessions list [--json] [--user U] [--state S] | show ID [--json]
  termhost sessions detach ID | kill ID | message ID|--all TEXT | stats [--json]
  termhost logins list [--json] [--user U] | logins revoke ID... | --user U
  termhost nodes list [--json] | nodes drain ID   (both take --store DSN)
  termhost keys list [--json] | keys rotate | keys retire ID | keys generate
  termhost hash-password [--password-stdin]   (for the config's users list, store: memory)
every command takes --data-dir and --config; COMMAND --help prints its own usage
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
	case "nodes", "node":
		return nodesCmd(args[1:], stdout, stderr)
	case "keys", "key":
		return keysCmd(args[1:], stdout, stderr)
	case "hash-password":
		return hashPasswordCmd(args[1:], stdin, stdout, stderr)
	case "version", "--version":
		return versionCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
	return 2
}

// parse parses flags that may be interleaved with positional arguments
// ("user add bob --admin") and returns the positional ones, also with an
// error (those before it).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return pos, err // the positionals so far say whose help was asked for
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

// resolve parses a command's flags and builds its Config. It returns
// flag.ErrHelp for -h/--help (the caller prints usage and exits 0); other
// flag errors name the flag ("invalid value … for flag -idle-timeout").
// The flag package itself prints nothing: commands report errors their own
// way.
func resolve(name string, args []string, serve bool, extra func(fs *flag.FlagSet)) (config.Config, []string, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	f := config.Register(fs, serve)
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return config.Config{}, pos, fs, err
	}
	cfg, err := f.Resolve()
	return cfg, pos, fs, err
}

// flagHelp is text followed by fs's flags and their defaults.
func flagHelp(text string, fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("flags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// failResolve reports a resolve error: help goes to stdout with status 0,
// anything else to stderr with the usage and status 2.
func failResolve(err error, text string, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, flagHelp(text, fs))
		return 0
	}
	fmt.Fprintf(stderr, "error: %v\n%s", err, text)
	return 2
}

const versionUsage = `usage: termhost version
prints the module version, the Go version and the VCS revision the binary was built from
`

// versionCmd prints version(). It takes --data-dir and --config as every
// command does (SPEC §3) and needs neither; --help prints its usage, any
// other argument is refused (exit 2).
func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("data-dir", "", "the data directory (not needed)")
	fs.String("config", "", "the config file (not needed)")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp) || (err == nil && fs.NArg() == 1 && fs.Arg(0) == "help"):
		fmt.Fprint(stdout, versionUsage)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "error: %v\n%s", err, versionUsage)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "error: version takes no arguments (got %q)\n%s", fs.Args(), versionUsage)
		return 2
	}
	fmt.Fprintln(stdout, version())
	return 0
}

// noVCS is what version prints in place of the revision when the binary
// carries no VCS stamp (built with -buildvcs=false, outside a checkout, or
// by `go run`/`go test`): said, so it is never taken for a release.
const noVCS = "revision unknown (built without VCS information)"

// version is the module version and VCS revision the binary was built
// from (runtime/debug build info, as `go build` stamps it).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	return formatVersion(bi, ok)
}

// formatVersion renders bi as "termhost MODULE-VERSION GO-VERSION revision
// REV [(modified)] [VCS-TIME]", with noVCS when bi has no vcs.revision.
func formatVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "termhost (no build info) " + noVCS
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	out := "termhost " + v + " " + bi.GoVersion
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev == "" {
		return out + " " + noVCS
	}
	out += " revision " + rev + dirty
	if at != "" {
		out += " " + at
	}
	return out
}
