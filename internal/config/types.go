package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownConfig means a config name is not one Samsa (or Kafka) defines
// for that kind of resource. Kafka answers this with INVALID_CONFIG.
var ErrUnknownConfig = errors.New("unknown config")

// ErrInvalidConfig means a config value has the wrong type, is out of range
// or contradicts another setting. Kafka answers this with INVALID_CONFIG.
var ErrInvalidConfig = errors.New("invalid config value")

// ErrMalformedProperties means the input is not valid Java .properties text
// (the only such case is a broken \uXXXX escape).
var ErrMalformedProperties = errors.New("malformed properties")

// Type is a config's value type, numbered as config_type in Kafka's
// DescribeConfigs response (and kmsg.ConfigType).
type Type int8

// Config types, in Kafka's numbering.
const (
	TypeUnknown  Type = 0
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3 // 32-bit
	TypeShort    Type = 4 // 16-bit
	TypeLong     Type = 5 // 64-bit
	TypeDouble   Type = 6
	TypeList     Type = 7 // comma-separated
	TypeClass    Type = 8 // a Java class name; accepted as text
	TypePassword Type = 9 // sensitive text, never shown
)

func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "BOOLEAN"
	case TypeString:
		return "STRING"
	case TypeInt:
		return "INT"
	case TypeShort:
		return "SHORT"
	case TypeLong:
		return "LONG"
	case TypeDouble:
		return "DOUBLE"
	case TypeList:
		return "LIST"
	case TypeClass:
		return "CLASS"
	case TypePassword:
		return "PASSWORD"
	default:
		return "UNKNOWN"
	}
}

// Source says where a config's value came from, numbered as config_source
// in Kafka's DescribeConfigs response (and kmsg.ConfigSource).
type Source int8

// Config sources, in Kafka's numbering. Samsa produces DynamicTopic,
// StaticBroker and Default today; the others exist so the numbering is whole.
const (
	SourceUnknown              Source = 0
	SourceDynamicTopic         Source = 1 // a per-topic override
	SourceDynamicBroker        Source = 2 // set at runtime for one broker
	SourceDynamicDefaultBroker Source = 3 // set at runtime for all brokers
	SourceStaticBroker         Source = 4 // server.properties or --set
	SourceDefault              Source = 5 // the built-in default
	SourceDynamicBrokerLogger  Source = 6
	SourceClientMetrics        Source = 7
	SourceGroup                Source = 8
)

func (s Source) String() string {
	switch s {
	case SourceDynamicTopic:
		return "DYNAMIC_TOPIC_CONFIG"
	case SourceDynamicBroker:
		return "DYNAMIC_BROKER_CONFIG"
	case SourceDynamicDefaultBroker:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case SourceStaticBroker:
		return "STATIC_BROKER_CONFIG"
	case SourceDefault:
		return "DEFAULT_CONFIG"
	case SourceDynamicBrokerLogger:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	case SourceClientMetrics:
		return "CLIENT_METRICS_CONFIG"
	case SourceGroup:
		return "GROUP_CONFIG"
	default:
		return "UNKNOWN"
	}
}

// Synonym is one place a config's value could come from, as listed in a
// DescribeConfigs answer: the config itself or a broker config standing in
// for it. Value is as written at that place (log.retention.hours=168 stays
// "168"; only the resolved value is converted to milliseconds).
type Synonym struct {
	Name   string
	Value  string
	Source Source
}

// Usage says what Samsa does with a broker config.
type Usage int8

const (
	// UsageActive configs are read by Samsa (now, or by the component that
	// will own them, such as TLS and SASL settings).
	UsageActive Usage = iota
	// UsageIgnored configs are accepted so a Kafka file loads, but have no
	// meaning in Samsa (thread pool sizes, replica fetchers, ...).
	UsageIgnored
	// UsageNotApplicable configs belong to Kafka's ZooKeeper or KRaft
	// controller machinery; they are accepted with a warning.
	UsageNotApplicable
)

func (u Usage) String() string {
	switch u {
	case UsageActive:
		return "active"
	case UsageIgnored:
		return "ignored"
	case UsageNotApplicable:
		return "not applicable"
	default:
		return fmt.Sprintf("Usage(%d)", int8(u))
	}
}

// Info describes one config for DescribeConfigs, `samsa configs` and docs.
type Info struct {
	Name string
	Type Type
	// Default is Kafka's (or Samsa's) default as text; meaningful only when
	// HasDefault. Kafka reports configs without a default as null.
	Default    string
	HasDefault bool
	Doc        string
	// ValidValues is Kafka-style text such as "[14,...]" or
	// "[delete, compact]"; empty when any value of Type is allowed.
	ValidValues string
	// Sensitive values are never shown (passwords, and broker keys of
	// unknown type, as Kafka does).
	Sensitive bool
	// ReadOnly is true for broker configs Samsa reads at start-up only, and
	// false for dynamic broker configs (IsDynamicBrokerConfig) and topic
	// configs, which AlterConfigs may set.
	ReadOnly bool
	// Synonyms lists, for a topic config, the broker configs that supply
	// its default, highest precedence first.
	Synonyms []string
	// Usage says what Samsa does with a broker config.
	Usage Usage
	// Deprecated, when not empty, says what to use instead.
	Deprecated string
}

// WarningKind classifies a Warning.
type WarningKind int8

const (
	// WarningUnknownKey: the key is not a config Samsa knows; it is kept
	// (so it still shows in DescribeConfigs) but does nothing.
	WarningUnknownKey WarningKind = iota + 1
	// WarningNotApplicable: a Kafka config with no meaning in Samsa's
	// architecture (ZooKeeper, KRaft controller quorum).
	WarningNotApplicable
	// WarningDeprecated: Kafka deprecated the config; it still works.
	WarningDeprecated
)

// Warning is a problem in the broker properties that does not stop the
// broker from starting.
type Warning struct {
	Key     string
	Kind    WarningKind
	Message string
}

func (w Warning) String() string { return w.Key + ": " + w.Message }

// ConfigError is one problem with one config value. It wraps
// ErrInvalidConfig or ErrUnknownConfig.
type ConfigError struct {
	Name   string
	Value  string // shown quoted unless Hidden
	Hidden bool   // the value is sensitive
	Reason string // plain words: "must be at least 14"
	Err    error  // ErrInvalidConfig or ErrUnknownConfig
}

func (e *ConfigError) Error() string {
	value := fmt.Sprintf("%q", e.Value)
	if e.Hidden {
		value = "(hidden)"
	}
	return fmt.Sprintf("%s = %s: %s", e.Name, value, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ValidationError lists every problem found in a set of configs, so a user
// can fix them all in one go. errors.Is sees through it to each problem.
type ValidationError struct {
	What     string // "broker configuration", "topic configuration"
	Problems []error
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s", e.What)
	if len(e.Problems) == 1 {
		fmt.Fprintf(&b, ": %v", e.Problems[0])
		return b.String()
	}
	fmt.Fprintf(&b, " (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  - %v", p)
	}
	return b.String()
}

func (e *ValidationError) Unwrap() []error { return e.Problems }
