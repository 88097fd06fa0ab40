// Command latch is Latch's one binary: the control plane (latch serve), the machine agent
// (latch agent) and the az-shaped command line.
package main

import (
	"os"

	"github.com/latchsh/latch/cli"
)

func main() {
	root := cli.NewRootCommand()
	root.AddCommand(newServeCommand(), newAgentCommand())
	os.Exit(cli.Execute(root))
}
