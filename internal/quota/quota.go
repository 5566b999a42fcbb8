// Package quota holds Kafka's client quotas: the values set per entity
// (user, client id, their defaults, or an IP address) with
// AlterClientQuotas, how DescribeClientQuotas filters them, which entity's
// value applies to a connection (Kafka's precedence, and IPLimit for an
// address's connection_creation_rate), and the rate throttles that enforce
// them.
//
// A Set is immutable: every change makes a new one, so request paths read
// the current set without a lock. The metadata log stores the changes.
package quota

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Entity types.
const (
	User     = "user"
	ClientID = "client-id"
	IP       = "ip"
)

// Quota keys.
const (
	ProducerByteRate       = "producer_byte_rate"
	ConsumerByteRate       = "consumer_byte_rate"
	RequestPercentage      = "request_percentage"
	ControllerMutationRate = "controller_mutation_rate"
	ConnectionCreationRate = "connection_creation_rate"
)

// integral keys take whole numbers only (Kafka's LONG and INT quota configs).
var (
	clientKeys = map[string]bool{ProducerByteRate: true, ConsumerByteRate: true, RequestPercentage: false, ControllerMutationRate: false}
	ipKeys     = map[string]bool{ConnectionCreationRate: true}
)

// ErrInvalid is wrapped by every validation failure: Kafka's INVALID_REQUEST.
var ErrInvalid = errors.New("invalid client quota request")

// ErrUnsupportedEntityType: a filter names an entity type Kafka does not
// know (Kafka answers UNSUPPORTED_VERSION).
var ErrUnsupportedEntityType = errors.New("unsupported entity type")

// invalidError is a validation failure whose text is Kafka's message alone,
// for the response's error message; it matches ErrInvalid.
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an error matching ErrInvalid with the formatted message.
func Invalidf(format string, args ...any) error {
	return invalidError(fmt.Sprintf(format, args...))
}

// Component is one part of an entity; a nil Name is the type's default.
type Component struct {
	Type string  `json:"type"`
	Name *string `json:"name,omitempty"`
}

// Entity is what a quota applies to: one component per type, sorted by type.
type Entity []Component

// NewEntity validates components as Kafka does and returns them as an
// Entity: at least one, no type twice, only user and client-id together or
// ip alone, no empty names, and a parseable IP address.
func NewEntity(components []Component) (Entity, error) {
	if len(components) == 0 {
		return nil, Invalidf("invalid empty client quota entity")
	}
	e := Entity(slices.Clone(components))
	slices.SortFunc(e, func(a, b Component) int { return strings.Compare(a.Type, b.Type) })
	for i, c := range e {
		if i > 0 && e[i-1].Type == c.Type {
			return nil, Invalidf("invalid client quota entity, duplicate entity entry %s", c.Type)
		}
		switch c.Type {
		case User, ClientID, IP:
		default:
			return nil, Invalidf("unhandled client quota entity type: %s", c.Type)
		}
		if c.Name != nil && *c.Name == "" {
			return nil, Invalidf("empty %s not supported", c.Type)
		}
	}
	if name, ok := e.name(IP); ok {
		if len(e) > 1 {
			return nil, Invalidf("invalid quota entity combination: an ip entity cannot be combined with user or client-id")
		}
		if name != nil && net.ParseIP(*name) == nil {
			return nil, Invalidf("%s is not a valid IP address", *name)
		}
	}
	return e, nil
}

// name returns the component name of type typ and whether e has that type.
func (e Entity) name(typ string) (*string, bool) {
	for _, c := range e {
		if c.Type == typ {
			return c.Name, true
		}
	}
	return nil, false
}

// key is a string that identifies e, used as a map key.
func (e Entity) key() string {
	var b strings.Builder
	for _, c := range e {
		b.WriteString(c.Type)
		if c.Name == nil {
			b.WriteString("\x00")
		} else {
			b.WriteString("=")
			b.WriteString(*c.Name)
		}
		b.WriteString("\x01")
	}
	return b.String()
}

// validKeys are the quota keys that apply to e, each with whether it must be
// a whole number.
func (e Entity) validKeys() map[string]bool {
	if _, ok := e.name(IP); ok {
		return ipKeys
	}
	return clientKeys
}

// Op sets (or, with Remove, deletes) one quota value of an entity.
type Op struct {
	Key    string  `json:"key"`
	Value  float64 `json:"value,omitempty"`
	Remove bool    `json:"remove,omitempty"`
}

// CheckOps validates ops against the keys e may have: a known key, a value
// above zero, and whole numbers for byte and connection rates.
func CheckOps(e Entity, ops []Op) error {
	valid := e.validKeys()
	for _, op := range ops {
		integral, ok := valid[op.Key]
		if !ok {
			return Invalidf("invalid configuration key %s", op.Key)
		}
		if op.Remove {
			continue
		}
		switch {
		case !(op.Value > 0):
			return Invalidf("quota %s must be greater than 0", op.Key)
		case math.IsInf(op.Value, 0) || integral && op.Value > math.MaxInt64:
			return Invalidf("proposed value for %s is too large", op.Key)
		case integral && math.Abs(math.Mod(op.Value, 1)) > 1e-6:
			return Invalidf("%s cannot be a fractional value", op.Key)
		}
	}
	return nil
}

// Entry is one entity's quota values.
type Entry struct {
	Entity Entity             `json:"entity"`
	Values map[string]float64 `json:"values"`
}

// Set is every entity's quotas. It is immutable.
type Set struct {
	entries map[string]Entry
	// ipRates are the connection_creation_rate quotas of specific
	// addresses, by parsed address.
	ipRates map[netip.Addr]float64
}

// NewSet returns a Set of entries (later entries of one entity win).
func NewSet(entries []Entry) *Set {
	s := &Set{entries: make(map[string]Entry, len(entries))}
	for _, e := range entries {
		s.entries[e.Entity.key()] = e
	}
	return s.indexIPs()
}

// Empty reports whether no entity has a quota.
func (s *Set) Empty() bool { return len(s.entries) == 0 }

// All returns every entry, sorted by entity.
func (s *Set) All() []Entry {
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Entity.key(), b.Entity.key()) })
	return out
}

// With returns a new Set with ops applied to entity e (already checked);
// an entity left without values disappears.
func (s *Set) With(e Entity, ops []Op) *Set {
	n := &Set{entries: make(map[string]Entry, len(s.entries)+1)}
	for k, v := range s.entries {
		n.entries[k] = v
	}
	k := e.key()
	values := map[string]float64{}
	if old, ok := s.entries[k]; ok {
		for key, v := range old.Values {
			values[key] = v
		}
	}
	for _, op := range ops {
		if op.Remove {
			delete(values, op.Key)
		} else {
			values[op.Key] = op.Value
		}
	}
	if len(values) == 0 {
		delete(n.entries, k)
	} else {
		n.entries[k] = Entry{Entity: slices.Clone(e), Values: values}
	}
	return n.indexIPs()
}

// Match types of a DescribeClientQuotas filter component.
const (
	MatchExact   = 0 // the named entity (a nil name matches nothing)
	MatchDefault = 1 // the type's default entity
	MatchAny     = 2 // any entity of the type, default included
)

// FilterComponent is one part of a DescribeClientQuotas filter.
type FilterComponent struct {
	Type      string
	MatchType int8
	Match     *string
}

// Describe returns the entries that match every filter component; with
// strict, only entities with no other component types. An empty filter
// matches everything (or, strict, nothing).
func (s *Set) Describe(filter []FilterComponent, strict bool) ([]Entry, error) {
	exact := map[string]*string{}
	anyOf := map[string]bool{}
	for _, f := range filter {
		if f.Type == "" {
			return nil, Invalidf("invalid empty entity type")
		}
		if _, dup := exact[f.Type]; dup || anyOf[f.Type] {
			return nil, Invalidf("entity type %s cannot appear more than once in the filter", f.Type)
		}
		switch f.Type {
		case User, ClientID, IP:
		default:
			return nil, fmt.Errorf("%w %s", ErrUnsupportedEntityType, f.Type)
		}
		switch f.MatchType {
		case MatchExact:
			exact[f.Type] = f.Match
		case MatchDefault:
			exact[f.Type] = nil
		case MatchAny:
			anyOf[f.Type] = true
		default:
			return nil, Invalidf("unknown match type %d", f.MatchType)
		}
	}
	_, exactIP := exact[IP]
	if exactIP || anyOf[IP] {
		if len(exact)+len(anyOf) > 1 {
			return nil, Invalidf("an ip filter component cannot be used with a user or client-id component")
		}
	}
	var out []Entry
	for _, e := range s.All() {
		if matches(e.Entity, exact, anyOf, strict) {
			out = append(out, e)
		}
	}
	return out, nil
}

func matches(e Entity, exact map[string]*string, anyOf map[string]bool, strict bool) bool {
	if strict && len(e) != len(exact)+len(anyOf) {
		return false
	}
	for typ, want := range exact {
		got, ok := e.name(typ)
		if !ok || (got == nil) != (want == nil) || got != nil && *got != *want {
			return false
		}
	}
	for typ := range anyOf {
		if _, ok := e.name(typ); !ok {
			return false
		}
	}
	return true
}

// Limit is the quota that applies to a connection for one key, found by
// Kafka's precedence: user and client id, user and default client id, user,
// default user and client id, default user and default client id, default
// user, client id, default client id. Bucket names what connections share
// the limit: the matched levels' names (a default level shares per name,
// as Kafka's metric tags do).
type Limit struct {
	Value  float64
	Bucket string
}

// LimitFor returns the quota of key for user and clientID, if any applies.
func (s *Set) LimitFor(key, user, clientID string) (Limit, bool) {
	if s.Empty() {
		return Limit{}, false
	}
	u, c := &user, &clientID
	type level struct {
		user, client       *string
		hasUser, hasClient bool
	}
	levels := [...]level{
		{u, c, true, true}, {u, nil, true, true}, {u, nil, true, false},
		{nil, c, true, true}, {nil, nil, true, true}, {nil, nil, true, false},
		{nil, c, false, true}, {nil, nil, false, true},
	}
	for _, l := range levels {
		var e Entity
		if l.hasClient {
			e = append(e, Component{Type: ClientID, Name: l.client})
		}
		if l.hasUser {
			e = append(e, Component{Type: User, Name: l.user})
		}
		entry, ok := s.entries[e.key()]
		if !ok {
			continue
		}
		v, ok := entry.Values[key]
		if !ok {
			continue
		}
		bucket := key + "\x01"
		if l.hasUser {
			bucket += "user=" + user + "\x01"
		}
		if l.hasClient {
			bucket += "client=" + clientID + "\x01"
		}
		return Limit{Value: v, Bucket: bucket}, true
	}
	return Limit{}, false
}

// IPLimit returns the connection_creation_rate quota of the address ip: the
// ip entity naming that address (names are compared as parsed addresses,
// so "::ffff:10.0.0.1" names 10.0.0.1), else the default ip entity. Each
// address has its own bucket, under the default too, as Kafka keeps one
// rate per address.
func (s *Set) IPLimit(ip netip.Addr) (Limit, bool) {
	if s.Empty() {
		return Limit{}, false
	}
	ip = ip.Unmap()
	bucket := ConnectionCreationRate + "\x01ip=" + ip.String() + "\x01"
	if v, ok := s.ipRates[ip]; ok {
		return Limit{Value: v, Bucket: bucket}, true
	}
	if entry, ok := s.entries[Entity{{Type: IP}}.key()]; ok {
		if v, ok := entry.Values[ConnectionCreationRate]; ok {
			return Limit{Value: v, Bucket: bucket}, true
		}
	}
	return Limit{}, false
}

// indexIPs fills s.ipRates from the entries of specific addresses.
func (s *Set) indexIPs() *Set {
	s.ipRates = map[netip.Addr]float64{}
	for _, e := range s.entries {
		name, ok := e.Entity.name(IP)
		if !ok || name == nil {
			continue
		}
		v, ok := e.Values[ConnectionCreationRate]
		if !ok {
			continue
		}
		if addr, err := netip.ParseAddr(*name); err == nil {
			s.ipRates[addr.Unmap()] = v
		}
	}
	return s
}
