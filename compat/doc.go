// Package compat runs third-party Kafka clients (kafkajs, kcat/librdkafka,
// kafka-python, confluent-kafka) as subprocesses against a real Samsa broker
// and cross-checks what they wrote and read with franz-go.
//
// The package holds only tests; see README.md for the tools they need and
// how to install them (install.sh). A missing tool skips its test unless
// SAMSA_COMPAT_REQUIRED=1, which turns the skip into a failure (CI sets it).
package compat
