package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// definition is one row of a definition table.
type definition struct {
	name string
	typ  Type
	// def is the default as Kafka prints it; ignored when noDefault.
	def string
	// noDefault: Kafka's default is null (e.g. log.retention.ms), so a
	// lower-precedence synonym decides.
	noDefault bool
	doc       string
	// rule restricts values beyond their type; nil allows any value of typ.
	rule rule
	// synonyms (topic configs only): broker configs supplying the default,
	// highest precedence first.
	synonyms []synonym
	// usage (broker configs only).
	usage      Usage
	deprecated string
}

// synonym is a broker config that stands in for a topic config.
type synonym struct {
	name string
	unit timeUnit
}

// timeUnit says how a synonym's value converts to the topic config's unit.
type timeUnit int8

const (
	sameUnit timeUnit = iota
	// The other units are times where any negative value means unlimited
	// and becomes -1, as in Kafka's logRetentionTimeMillis.
	millisOrUnlimited
	minutesToMillis
	hoursToMillis
)

// convert turns a synonym's value into the topic config's unit. Values
// that fail to parse are returned unchanged (NewBroker rejects them).
func (u timeUnit) convert(value string) string {
	value = strings.TrimSpace(value)
	if u == sameUnit {
		return value
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return value
	}
	switch {
	case n < 0:
		return "-1"
	case u == minutesToMillis:
		n *= 60 * 1000
	case u == hoursToMillis:
		n *= 60 * 60 * 1000
	}
	return strconv.FormatInt(n, 10)
}

// check parses value as the definition's type and applies its rule,
// returning a plain-words reason on failure.
func (d *definition) check(value string) error {
	trimmed := strings.TrimSpace(value)
	if err := checkType(d.typ, trimmed); err != nil {
		return err
	}
	if d.rule != nil {
		return d.rule.check(trimmed)
	}
	return nil
}

// info builds the public description of a definition.
func (d *definition) info(readOnly bool) Info {
	in := Info{
		Name:       d.name,
		Type:       d.typ,
		Default:    d.def,
		HasDefault: !d.noDefault,
		Doc:        d.doc,
		Sensitive:  d.typ == TypePassword,
		ReadOnly:   readOnly,
		Usage:      d.usage,
		Deprecated: d.deprecated,
	}
	if d.noDefault {
		in.Default = ""
	}
	if d.rule != nil {
		in.ValidValues = d.rule.String()
	}
	for _, s := range d.synonyms {
		in.Synonyms = append(in.Synonyms, s.name)
	}
	return in
}

// checkType reports whether a trimmed value parses as t, the way Kafka's
// ConfigDef.parseType does.
func checkType(t Type, value string) error {
	switch t {
	case TypeBoolean:
		if !strings.EqualFold(value, "true") && !strings.EqualFold(value, "false") {
			return errors.New("must be true or false")
		}
	case TypeShort:
		return checkInteger(value, 16)
	case TypeInt:
		return checkInteger(value, 32)
	case TypeLong:
		return checkInteger(value, 64)
	case TypeDouble:
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return errors.New("must be a number")
		}
	}
	return nil
}

func checkInteger(value string, bits int) error {
	_, err := strconv.ParseInt(value, 10, bits)
	if err == nil {
		return nil
	}
	if errors.Is(err, strconv.ErrRange) {
		lo, hi := integerLimits(bits)
		return fmt.Errorf("must be a whole number between %d and %d", lo, hi)
	}
	return errors.New("must be a whole number")
}

func integerLimits(bits int) (int64, int64) {
	switch bits {
	case 16:
		return math.MinInt16, math.MaxInt16
	case 32:
		return math.MinInt32, math.MaxInt32
	default:
		return math.MinInt64, math.MaxInt64
	}
}

// splitList splits a LIST value as Kafka does: empty text is an empty list,
// otherwise commas separate elements and whitespace around them is dropped.
func splitList(value string) []string {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	parts := strings.Split(value, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// rule restricts the values a config accepts beyond its type.
type rule interface {
	// check is given a trimmed value that already parsed as the type.
	check(value string) error
	// String is the Kafka-style "Valid Values" text.
	String() string
}

// intRange accepts integers in [min, max].
type intRange struct{ min, max int64 }

// atLeast accepts integers from lo up.
func atLeast(lo int64) rule { return intRange{min: lo, max: math.MaxInt64} }

func (r intRange) String() string {
	if r.max == math.MaxInt64 {
		return fmt.Sprintf("[%d,...]", r.min)
	}
	return fmt.Sprintf("[%d,...,%d]", r.min, r.max)
}

func (r intRange) check(value string) error {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return errors.New("must be a whole number")
	}
	if n < r.min {
		return fmt.Errorf("must be at least %d", r.min)
	}
	if n > r.max {
		return fmt.Errorf("must be at most %d", r.max)
	}
	return nil
}

// floatRange accepts numbers in [min, max] (NaN never).
type floatRange struct{ min, max float64 }

func (r floatRange) String() string {
	return fmt.Sprintf("[%s,...,%s]", formatFloat(r.min), formatFloat(r.max))
}

func (r floatRange) check(value string) error {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || !(f >= r.min && f <= r.max) {
		return fmt.Errorf("must be a number from %s to %s", formatFloat(r.min), formatFloat(r.max))
	}
	return nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// oneOf accepts exactly one of the listed strings (case-sensitive, as
// Kafka's ValidString).
type oneOf []string

func (r oneOf) String() string { return "[" + strings.Join(r, ", ") + "]" }

func (r oneOf) check(value string) error {
	for _, allowed := range r {
		if value == allowed {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(r, ", "))
}

// oneOfFold is oneOf ignoring case (Kafka's CaseInsensitiveValidString).
type oneOfFold []string

func (r oneOfFold) String() string { return oneOf(r).String() }

func (r oneOfFold) check(value string) error {
	for _, allowed := range r {
		if strings.EqualFold(value, allowed) {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(r, ", "))
}

// subsetOf accepts a comma-separated list drawn from values (Kafka's
// ValidList.in), e.g. "compact,delete"; an empty list only if allowEmpty.
type subsetOf struct {
	values     []string
	allowEmpty bool
}

func (r subsetOf) String() string { return "[" + strings.Join(r.values, ", ") + "]" }

func (r subsetOf) check(value string) error {
	elements := splitList(value)
	if len(elements) == 0 && !r.allowEmpty {
		return fmt.Errorf("must list at least one of %s", strings.Join(r.values, ", "))
	}
	for _, e := range elements {
		if oneOf(r.values).check(e) != nil {
			return fmt.Errorf("%q is not allowed; use a comma-separated list of %s", e, strings.Join(r.values, ", "))
		}
	}
	return nil
}

// throttledReplicas accepts "*" or a list of partition:brokerId pairs
// (Kafka's ThrottledReplicaListValidator).
type throttledReplicas struct{}

var partitionBrokerPair = regexp.MustCompile(`^[0-9]+:[0-9]+$`)

func (throttledReplicas) String() string {
	return "[partitionId]:[brokerId],[partitionId]:[brokerId],..."
}

func (throttledReplicas) check(value string) error {
	elements := splitList(value)
	if len(elements) == 1 && elements[0] == "*" {
		return nil
	}
	for _, e := range elements {
		if !partitionBrokerPair.MatchString(e) {
			return errors.New("must be * or a comma-separated list of partition:broker pairs such as 0:1,1:2")
		}
	}
	return nil
}

// custom wraps a one-off check, such as the listener syntax.
type custom struct {
	describe string
	fn       func(value string) error
}

func (r custom) String() string           { return r.describe }
func (r custom) check(value string) error { return r.fn(value) }

// formatVersions accepts the release names Kafka's message.format.version
// took ("0.10.0", "0.10.0.1", "2.8", "3.0-IV1"): 0.8.0 to 0.11.0, then 1.0
// to 3.9 and 4.0, each optionally followed by an -IVn suffix, as Kafka's
// MetadataVersion.fromVersionString reads them.
var formatVersions = custom{
	describe: "[0.8.0, 0.8.1, 0.8.2, 0.9.0, 0.10.0, 0.10.1, 0.10.2, 0.11.0, 1.0, 1.1, 2.0, ..., 2.8, 3.0, ..., 3.9, 4.0], optionally with an -IVn suffix",
	fn:       checkFormatVersion,
}

var formatVersionSyntax = regexp.MustCompile(`^(\d+)\.(\d+)((?:\.\d+)*)(-IV\d+)?$`)

func checkFormatVersion(value string) error {
	m := formatVersionSyntax.FindStringSubmatch(value)
	if m == nil {
		return errors.New("must be a Kafka release such as 2.8 or 3.0-IV1")
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	known := false
	switch major {
	case 0:
		// 0.x releases are named by three numbers; the first must be there.
		known = minor >= 8 && minor <= 11 && m[3] != ""
	case 1:
		known = minor <= 1
	case 2:
		known = minor <= 8
	case 3:
		known = minor <= 9
	case 4:
		known = minor == 0
	}
	if !known {
		return fmt.Errorf("%s is not a Kafka release with a message format", value)
	}
	return nil
}
