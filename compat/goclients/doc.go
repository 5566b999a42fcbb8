// Package goclients runs two more Go Kafka clients, IBM/sarama and
// segmentio/kafka-go, against a Samsa broker and checks what they read
// against what they wrote.
//
// It is a nested module (its own go.mod) so that the main module does not
// depend on these clients. Being outside the main module it cannot import
// Samsa's internal packages: the tests build cmd/samsa once with `go build`
// and run `samsa serve` as a subprocess, one broker per test, on a free
// loopback port with a temporary data directory.
//
// The package holds only tests; see ../README.md. Run them with
//
//	cd compat/goclients && go test -count=1 ./...
package goclients
