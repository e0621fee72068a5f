// Command candor is the command-line client of a Candor server. See package internal/cli.
package main

import (
	"os"

	"github.com/candorhq/candor/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
