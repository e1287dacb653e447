// Command termhost is a multi-user terminal session host: see README.md.
package main

import (
	"os"

	"termhost/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
