// Package acl holds Kafka's access control lists: the bindings (who may do
// what on which resource), the filters DescribeAcls and DeleteAcls select
// them with, and the authorizer that decides a request.
//
// The numeric values of every enum are Kafka's wire values, so the handler
// converts with a cast; this package knows nothing of the wire format. The
// bindings themselves are stored in the metadata log (internal/metadata),
// which rebuilds an immutable Set after every change.
package acl

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ResourceType is the kind of resource a binding names.
type ResourceType int8

// Resource types, with Kafka's codes.
const (
	ResourceUnknown         ResourceType = 0
	ResourceAny             ResourceType = 1 // filters only
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
	ResourceDelegationToken ResourceType = 6
	ResourceUser            ResourceType = 7
)

// PatternType says how a binding's resource name matches resource names.
type PatternType int8

// Pattern types, with Kafka's codes.
const (
	PatternUnknown  PatternType = 0
	PatternAny      PatternType = 1 // filters only: any pattern type, exact name
	PatternMatch    PatternType = 2 // filters only: every binding that applies to the name
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Operation is what a binding allows or denies.
type Operation int8

// Operations, with Kafka's codes.
const (
	OpUnknown         Operation = 0
	OpAny             Operation = 1 // filters only
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
	OpCreateTokens    Operation = 13
	OpDescribeTokens  Operation = 14
)

// Permission is whether a binding allows or denies.
type Permission int8

// Permissions, with Kafka's codes.
const (
	PermissionUnknown Permission = 0
	PermissionAny     Permission = 1 // filters only
	PermissionDeny    Permission = 2
	PermissionAllow   Permission = 3
)

// Wildcards, as Kafka spells them.
const (
	WildcardResource  = "*"      // a literal resource name matching every name
	WildcardPrincipal = "User:*" // every principal
	WildcardHost      = "*"      // every host
	ClusterName       = "kafka-cluster"
)

// ErrInvalid reports a binding or filter Kafka would refuse
// (INVALID_REQUEST).
var ErrInvalid = errors.New("invalid acl")

// Binding is one ACL: a resource pattern and an access control entry.
type Binding struct {
	ResourceType ResourceType `json:"resource_type"`
	ResourceName string       `json:"resource_name"`
	PatternType  PatternType  `json:"pattern_type"`
	Principal    string       `json:"principal"`
	Host         string       `json:"host"`
	Operation    Operation    `json:"operation"`
	Permission   Permission   `json:"permission"`
}

// Validate reports whether b may be created: every enum concrete, the
// principal of the form Type:name, the host "*" or an IP address, and the
// cluster resource named kafka-cluster.
func (b Binding) Validate() error {
	switch b.ResourceType {
	case ResourceTopic, ResourceGroup, ResourceCluster, ResourceTransactionalID, ResourceDelegationToken, ResourceUser:
	default:
		return fmt.Errorf("%w: resource type %d", ErrInvalid, b.ResourceType)
	}
	switch b.PatternType {
	case PatternLiteral, PatternPrefixed:
	default:
		return fmt.Errorf("%w: pattern type %d (must be LITERAL or PREFIXED)", ErrInvalid, b.PatternType)
	}
	if b.Operation < OpAll || b.Operation > OpDescribeTokens {
		return fmt.Errorf("%w: operation %d", ErrInvalid, b.Operation)
	}
	if b.Permission != PermissionAllow && b.Permission != PermissionDeny {
		return fmt.Errorf("%w: permission type %d", ErrInvalid, b.Permission)
	}
	if b.ResourceName == "" {
		return fmt.Errorf("%w: empty resource name", ErrInvalid)
	}
	if b.ResourceType == ResourceCluster && (b.ResourceName != ClusterName || b.PatternType != PatternLiteral) {
		return fmt.Errorf("%w: the cluster resource is the literal %q", ErrInvalid, ClusterName)
	}
	if b.PatternType == PatternPrefixed && b.ResourceName == WildcardResource {
		return fmt.Errorf("%w: a prefixed pattern cannot be the wildcard %q", ErrInvalid, WildcardResource)
	}
	kind, name, ok := strings.Cut(b.Principal, ":")
	if !ok || kind == "" || name == "" {
		return fmt.Errorf("%w: principal %q is not of the form User:name", ErrInvalid, b.Principal)
	}
	if b.Host != WildcardHost && net.ParseIP(b.Host) == nil {
		return fmt.Errorf("%w: host %q is neither %q nor an IP address", ErrInvalid, b.Host, WildcardHost)
	}
	return nil
}

// Filter selects bindings for DescribeAcls and DeleteAcls. Nil strings and
// the Any values match everything.
type Filter struct {
	ResourceType ResourceType
	ResourceName *string
	PatternType  PatternType
	Principal    *string
	Host         *string
	Operation    Operation
	Permission   Permission
}

// Validate reports whether f is a filter Kafka accepts.
func (f Filter) Validate() error {
	if f.ResourceType < ResourceAny || f.ResourceType > ResourceUser {
		return fmt.Errorf("%w: filter resource type %d", ErrInvalid, f.ResourceType)
	}
	if f.PatternType < PatternAny || f.PatternType > PatternPrefixed {
		return fmt.Errorf("%w: filter pattern type %d", ErrInvalid, f.PatternType)
	}
	if f.Operation < OpAny || f.Operation > OpDescribeTokens {
		return fmt.Errorf("%w: filter operation %d", ErrInvalid, f.Operation)
	}
	if f.Permission < PermissionAny || f.Permission > PermissionAllow {
		return fmt.Errorf("%w: filter permission type %d", ErrInvalid, f.Permission)
	}
	return nil
}

// Matches reports whether f selects b.
func (f Filter) Matches(b Binding) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.Operation != OpAny && f.Operation != b.Operation {
		return false
	}
	if f.Permission != PermissionAny && f.Permission != b.Permission {
		return false
	}
	if f.Principal != nil && *f.Principal != b.Principal {
		return false
	}
	if f.Host != nil && *f.Host != b.Host {
		return false
	}
	switch f.PatternType {
	case PatternAny:
		return f.ResourceName == nil || *f.ResourceName == b.ResourceName
	case PatternMatch:
		// Every binding that would apply to a resource of that name.
		return f.ResourceName == nil || patternApplies(b.PatternType, b.ResourceName, *f.ResourceName)
	default:
		return f.PatternType == b.PatternType && (f.ResourceName == nil || *f.ResourceName == b.ResourceName)
	}
}

// patternApplies reports whether a binding's pattern covers resource name.
func patternApplies(pt PatternType, pattern, name string) bool {
	switch pt {
	case PatternLiteral:
		return pattern == name || pattern == WildcardResource
	case PatternPrefixed:
		return strings.HasPrefix(name, pattern)
	}
	return false
}
