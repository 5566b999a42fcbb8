package acl

import (
	"cmp"
	"slices"
	"strings"
)

// Set is an immutable, indexed collection of bindings: authorization looks
// up the literal bindings of a name and the prefixed bindings of its type
// without scanning every ACL.
type Set struct {
	all      []Binding // sorted, unique
	literal  map[resourceKey][]Binding
	prefixed map[ResourceType][]Binding
	types    map[ResourceType]int // bindings per resource type
}

type resourceKey struct {
	typ  ResourceType
	name string
}

// NewSet indexes bs (duplicates are dropped).
func NewSet(bs []Binding) *Set {
	all := slices.Clone(bs)
	slices.SortFunc(all, compareBindings)
	all = slices.Compact(all)
	s := &Set{all: all, literal: map[resourceKey][]Binding{}, prefixed: map[ResourceType][]Binding{}, types: map[ResourceType]int{}}
	for _, b := range all {
		s.types[b.ResourceType]++
		if b.PatternType == PatternPrefixed {
			s.prefixed[b.ResourceType] = append(s.prefixed[b.ResourceType], b)
			continue
		}
		k := resourceKey{b.ResourceType, b.ResourceName}
		s.literal[k] = append(s.literal[k], b)
	}
	return s
}

func compareBindings(a, b Binding) int {
	return cmp.Or(
		cmp.Compare(a.ResourceType, b.ResourceType),
		strings.Compare(a.ResourceName, b.ResourceName),
		cmp.Compare(a.PatternType, b.PatternType),
		strings.Compare(a.Principal, b.Principal),
		strings.Compare(a.Host, b.Host),
		cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission),
	)
}

// Len is the number of bindings.
func (s *Set) Len() int { return len(s.all) }

// All returns every binding, sorted. The caller must not modify it.
func (s *Set) All() []Binding { return s.all }

// Contains reports whether b is in the set.
func (s *Set) Contains(b Binding) bool {
	_, found := slices.BinarySearchFunc(s.all, b, compareBindings)
	return found
}

// Select returns the bindings f matches, sorted.
func (s *Set) Select(f Filter) []Binding {
	var out []Binding
	for _, b := range s.all {
		if f.Matches(b) {
			out = append(out, b)
		}
	}
	return out
}

// applying calls fn with every binding whose pattern covers the resource,
// until fn returns false.
func (s *Set) applying(typ ResourceType, name string, fn func(Binding) bool) {
	for _, b := range s.literal[resourceKey{typ, name}] {
		if !fn(b) {
			return
		}
	}
	if name != WildcardResource {
		for _, b := range s.literal[resourceKey{typ, WildcardResource}] {
			if !fn(b) {
				return
			}
		}
	}
	for _, b := range s.prefixed[typ] {
		if strings.HasPrefix(name, b.ResourceName) && !fn(b) {
			return
		}
	}
}

// Authorizer decides requests the way Kafka's StandardAuthorizer does:
// super users may do everything; otherwise a matching DENY wins over any
// ALLOW, an ALLOW of the operation (or of one that implies it) grants it,
// and a resource no binding covers at all is open only when
// allow.everyone.if.no.acl.found is set.
type Authorizer struct {
	superUsers   map[string]bool
	allowIfNoACL bool
	acls         func() *Set
}

// NewAuthorizer returns an authorizer reading the current bindings from
// acls, which must be cheap (an atomic load).
func NewAuthorizer(superUsers []string, allowIfNoACL bool, acls func() *Set) *Authorizer {
	a := &Authorizer{superUsers: map[string]bool{}, allowIfNoACL: allowIfNoACL, acls: acls}
	for _, u := range superUsers {
		a.superUsers[u] = true
	}
	return a
}

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool { return a.superUsers[principal] }

// Authorize reports whether principal, connected from host, may perform op
// on the resource.
func (a *Authorizer) Authorize(principal, host string, op Operation, typ ResourceType, name string) bool {
	if a.superUsers[principal] {
		return true
	}
	covered, denied, allowed := false, false, false
	a.acls().applying(typ, name, func(b Binding) bool {
		covered = true
		if !entryMatches(b, principal, host) {
			return true
		}
		if b.Permission == PermissionDeny && (b.Operation == op || b.Operation == OpAll) {
			denied = true
			return false
		}
		if b.Permission == PermissionAllow && implies(b.Operation, op) {
			allowed = true
		}
		return true
	})
	switch {
	case denied:
		return false
	case allowed:
		return true
	default:
		return !covered && a.allowIfNoACL
	}
}

// AuthorizeAnyOf reports whether principal may perform op on at least one
// resource of the type, as Kafka's authorizeByResourceType: an ALLOW counts
// unless a DENY covers everything it names. (InitProducerId lets an
// idempotent producer in this way when it may write to some topic.)
func (a *Authorizer) AuthorizeAnyOf(principal, host string, op Operation, typ ResourceType) bool {
	if a.superUsers[principal] {
		return true
	}
	s := a.acls()
	if s.types[typ] == 0 {
		return a.allowIfNoACL
	}
	var allows, denies []Binding
	for _, b := range s.all {
		if b.ResourceType != typ || !entryMatches(b, principal, host) {
			continue
		}
		switch {
		case b.Permission == PermissionDeny && (b.Operation == op || b.Operation == OpAll):
			if b.PatternType == PatternLiteral && b.ResourceName == WildcardResource {
				return false
			}
			denies = append(denies, b)
		case b.Permission == PermissionAllow && implies(b.Operation, op):
			allows = append(allows, b)
		}
	}
	for _, allow := range allows {
		if !slices.ContainsFunc(denies, func(deny Binding) bool { return covers(deny, allow) }) {
			return true
		}
	}
	return false
}

// covers reports whether every resource name allow's pattern matches is
// also matched by deny's.
func covers(deny, allow Binding) bool {
	switch deny.PatternType {
	case PatternLiteral:
		return allow.PatternType == PatternLiteral && allow.ResourceName == deny.ResourceName
	case PatternPrefixed:
		return strings.HasPrefix(allow.ResourceName, deny.ResourceName)
	}
	return false
}

// AuthorizedOperations is the bit set (1 << op) of ops principal may
// perform on the resource, for the authorized-operations fields of
// Metadata, DescribeGroups and DescribeCluster.
func (a *Authorizer) AuthorizedOperations(principal, host string, typ ResourceType, name string) int32 {
	var bits int32
	for _, op := range OperationsOf(typ) {
		if a == nil || a.Authorize(principal, host, op, typ, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// OperationsOf lists the operations that apply to a resource type.
func OperationsOf(typ ResourceType) []Operation {
	switch typ {
	case ResourceTopic:
		return []Operation{OpRead, OpWrite, OpCreate, OpDelete, OpAlter, OpDescribe, OpDescribeConfigs, OpAlterConfigs}
	case ResourceGroup:
		// DESCRIBE_CONFIGS and ALTER_CONFIGS: group configs (Kafka 4).
		return []Operation{OpRead, OpDescribe, OpDelete, OpDescribeConfigs, OpAlterConfigs}
	case ResourceCluster:
		return []Operation{OpCreate, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite, OpAlter, OpDescribe}
	case ResourceTransactionalID:
		return []Operation{OpDescribe, OpWrite}
	case ResourceDelegationToken:
		return []Operation{OpDescribe}
	case ResourceUser:
		return []Operation{OpCreateTokens, OpDescribeTokens}
	}
	return nil
}

func entryMatches(b Binding, principal, host string) bool {
	return (b.Principal == principal || b.Principal == WildcardPrincipal) &&
		(b.Host == host || b.Host == WildcardHost)
}

// implies reports whether granting op granted allows op wanted: ALL allows
// everything, READ, WRITE, DELETE and ALTER allow DESCRIBE, and
// ALTER_CONFIGS allows DESCRIBE_CONFIGS.
func implies(granted, wanted Operation) bool {
	switch {
	case granted == wanted, granted == OpAll:
		return true
	case wanted == OpDescribe:
		return granted == OpRead || granted == OpWrite || granted == OpDelete || granted == OpAlter
	case wanted == OpDescribeConfigs:
		return granted == OpAlterConfigs
	}
	return false
}
