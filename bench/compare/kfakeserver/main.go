// Command kfakeserver runs franz-go's in-memory fake Kafka cluster (kfake)
// with one broker on a given loopback port, until SIGINT or SIGTERM. It is
// the reference peer that bench/compare measures Samsa against, and lives in
// its own module so the main module does not depend on kfake.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "loopback port to listen on (0 picks a free one)")
	partitions := flag.Int("default-partitions", 1, "partitions of auto-created topics")
	flag.Parse()

	cluster, err := kfake.NewCluster(
		kfake.Ports(*port),
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfakeserver: %v\n", err)
		os.Exit(1)
	}
	defer cluster.Close()
	// bench/compare waits for this line before it sends any request.
	fmt.Printf("listening on %s\n", cluster.ListenAddrs()[0])

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	<-signals
}
