// Package config holds Samsa's broker and topic settings under Kafka's own
// names, so that a Kafka server.properties file works unchanged and
// DescribeConfigs can answer the way Kafka does.
//
// The package has three pieces. Two definition tables (topic_table.go,
// broker_table.go) give every config's name, type, default, one-line
// documentation and validation rule, and for topic configs the broker
// configs ("synonyms") that supply their default. The tables are literals
// sorted by name; nothing registers at init time.
//
// Broker holds the raw properties (server.properties plus command-line
// overrides), checked once by NewBroker, with typed accessors for what the
// broker acts on. A Broker never changes after construction and is safe for
// concurrent use.
//
// TopicConfigs holds one topic's overrides. Effective resolves a topic
// config the way Kafka's ServerTopicConfigSynonyms does; the first match
// wins:
//
//  1. the topic's own override                       DYNAMIC_TOPIC_CONFIG (1)
//  2. broker synonyms set in server.properties/--set STATIC_BROKER_CONFIG (4)
//     in precedence order, e.g. log.retention.ms, then
//     log.retention.minutes, then log.retention.hours
//  3. the broker synonyms' defaults, same order      DEFAULT_CONFIG (5)
//  4. the topic config's own default                 DEFAULT_CONFIG (5)
//
// Values taken from hour or minute synonyms are converted to milliseconds,
// and a negative retention time means unlimited (-1), as in Kafka.
//
// Type and Source use the numbering of Kafka's DescribeConfigs response
// (config_type, config_source; kmsg.ConfigType and kmsg.ConfigSource), so
// handlers convert them directly.
//
// The definitions follow Apache Kafka 3.9, the last line that still has
// message.downconversion.enable and message.timestamp.difference.max.ms.
// Where Samsa's broker default differs from Kafka's (listeners bound to
// 127.0.0.1, node id 0, ./samsa-data, replication factors of 1 for the
// internal topics) the documentation line says so.
package config
