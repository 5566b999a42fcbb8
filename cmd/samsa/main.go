// Command samsa is a Kafka-compatible event streaming broker and the
// command-line client that goes with it.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/samsa-broker/samsa/internal/cli"
)

func main() {
	root := &cobra.Command{
		Use:   "samsa",
		Short: "A Kafka-compatible event streaming broker in one binary",
		Long: "Samsa speaks the Kafka protocol: every Kafka client works with it unchanged.\n" +
			"`samsa serve` runs a broker; the other commands are clients that work with any Kafka.",
	}
	root.AddCommand(newServeCommand())
	cli.AddCommands(root)
	os.Exit(cli.Execute(root))
}
