package acl

import (
	"errors"
	"testing"
)

func allow(typ ResourceType, name string, pt PatternType, principal string, op Operation) Binding {
	return Binding{ResourceType: typ, ResourceName: name, PatternType: pt, Principal: principal, Host: WildcardHost, Operation: op, Permission: PermissionAllow}
}

func deny(typ ResourceType, name string, pt PatternType, principal string, op Operation) Binding {
	b := allow(typ, name, pt, principal, op)
	b.Permission = PermissionDeny
	return b
}

func TestAuthorize(t *testing.T) {
	set := NewSet([]Binding{
		allow(ResourceTopic, "orders", PatternLiteral, "User:alice", OpRead),
		allow(ResourceTopic, "clicks-", PatternPrefixed, "User:alice", OpWrite),
		deny(ResourceTopic, "clicks-secret", PatternLiteral, "User:alice", OpWrite),
		allow(ResourceTopic, "*", PatternLiteral, "User:*", OpDescribeConfigs),
		allow(ResourceGroup, "g", PatternLiteral, "User:bob", OpAll),
		{ResourceType: ResourceTopic, ResourceName: "hosts", PatternType: PatternLiteral, Principal: "User:carol", Host: "10.0.0.1", Operation: OpRead, Permission: PermissionAllow},
		allow(ResourceTopic, "logs", PatternLiteral, "User:dave", OpAlterConfigs),
		deny(ResourceTopic, "*", PatternLiteral, "User:mallory", OpAll),
		allow(ResourceTopic, "orders", PatternLiteral, "User:mallory", OpRead),
	})
	a := NewAuthorizer([]string{"User:admin"}, false, func() *Set { return set })
	open := NewAuthorizer(nil, true, func() *Set { return set })
	tests := []struct {
		name      string
		a         *Authorizer
		principal string
		host      string
		op        Operation
		typ       ResourceType
		resource  string
		want      bool
	}{
		{"literal allow", a, "User:alice", "1.2.3.4", OpRead, ResourceTopic, "orders", true},
		{"read implies describe", a, "User:alice", "1.2.3.4", OpDescribe, ResourceTopic, "orders", true},
		{"read does not imply write", a, "User:alice", "1.2.3.4", OpWrite, ResourceTopic, "orders", false},
		{"other principal", a, "User:bob", "1.2.3.4", OpRead, ResourceTopic, "orders", false},
		{"prefixed allow", a, "User:alice", "1.2.3.4", OpWrite, ResourceTopic, "clicks-eu", true},
		{"deny beats prefixed allow", a, "User:alice", "1.2.3.4", OpWrite, ResourceTopic, "clicks-secret", false},
		{"wildcard resource and principal", a, "User:zed", "1.2.3.4", OpDescribeConfigs, ResourceTopic, "anything", true},
		{"all allows everything on the group", a, "User:bob", "1.2.3.4", OpDelete, ResourceGroup, "g", true},
		{"group bindings do not apply to topics", a, "User:bob", "1.2.3.4", OpRead, ResourceTopic, "g", false},
		{"host must match", a, "User:carol", "10.0.0.2", OpRead, ResourceTopic, "hosts", false},
		{"host matches", a, "User:carol", "10.0.0.1", OpRead, ResourceTopic, "hosts", true},
		{"alter configs implies describe configs", a, "User:dave", "1.2.3.4", OpDescribeConfigs, ResourceTopic, "logs", true},
		{"wildcard deny of all beats a literal allow", a, "User:mallory", "1.2.3.4", OpRead, ResourceTopic, "orders", false},
		{"super user", a, "User:admin", "1.2.3.4", OpAlter, ResourceCluster, ClusterName, true},
		{"no acl on the resource: closed by default", a, "User:alice", "1.2.3.4", OpRead, ResourceGroup, "nobody", false},
		{"no acl on the resource: allow.everyone.if.no.acl.found", open, "User:alice", "1.2.3.4", OpRead, ResourceGroup, "nobody", true},
		{"acls exist but none for the principal: closed even when open", open, "User:zed", "1.2.3.4", OpRead, ResourceTopic, "orders", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Authorize(tt.principal, tt.host, tt.op, tt.typ, tt.resource); got != tt.want {
				t.Fatalf("Authorize(%s, %s, op %d, type %d, %q) = %v, want %v", tt.principal, tt.host, tt.op, tt.typ, tt.resource, got, tt.want)
			}
		})
	}
}

func TestAuthorizeAnyOf(t *testing.T) {
	tests := []struct {
		name     string
		bindings []Binding
		open     bool
		want     bool
	}{
		{"no bindings of the type", nil, false, false},
		{"no bindings of the type, open", nil, true, true},
		{"one literal allow", []Binding{allow(ResourceTopic, "t", PatternLiteral, "User:p", OpWrite)}, false, true},
		{"allow denied by the same literal", []Binding{allow(ResourceTopic, "t", PatternLiteral, "User:p", OpWrite), deny(ResourceTopic, "t", PatternLiteral, "User:p", OpWrite)}, false, false},
		{"allow denied by a prefix", []Binding{allow(ResourceTopic, "ab", PatternPrefixed, "User:p", OpWrite), deny(ResourceTopic, "a", PatternPrefixed, "User:p", OpAll)}, false, false},
		{"allow outside the denied prefix", []Binding{allow(ResourceTopic, "b", PatternLiteral, "User:p", OpWrite), deny(ResourceTopic, "a", PatternPrefixed, "User:p", OpWrite)}, false, true},
		{"wildcard deny", []Binding{allow(ResourceTopic, "b", PatternLiteral, "User:p", OpWrite), deny(ResourceTopic, "*", PatternLiteral, "User:*", OpWrite)}, false, false},
		{"someone else's allow", []Binding{allow(ResourceTopic, "b", PatternLiteral, "User:q", OpWrite)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := NewSet(tt.bindings)
			a := NewAuthorizer(nil, tt.open, func() *Set { return set })
			if got := a.AuthorizeAnyOf("User:p", "127.0.0.1", OpWrite, ResourceTopic); got != tt.want {
				t.Fatalf("AuthorizeAnyOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilterMatches(t *testing.T) {
	str := func(s string) *string { return &s }
	lit := allow(ResourceTopic, "orders", PatternLiteral, "User:alice", OpRead)
	pre := allow(ResourceTopic, "ord", PatternPrefixed, "User:alice", OpRead)
	wild := allow(ResourceTopic, "*", PatternLiteral, "User:alice", OpRead)
	anyFilter := Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}
	tests := []struct {
		name string
		f    Filter
		b    Binding
		want bool
	}{
		{"match everything", anyFilter, lit, true},
		{"resource type", Filter{ResourceType: ResourceGroup, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, lit, false},
		{"any pattern, exact name", Filter{ResourceType: ResourceTopic, ResourceName: str("orders"), PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, pre, false},
		{"match: prefix applies", Filter{ResourceType: ResourceTopic, ResourceName: str("orders"), PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, pre, true},
		{"match: wildcard applies", Filter{ResourceType: ResourceTopic, ResourceName: str("orders"), PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, wild, true},
		{"literal filter skips prefixed", Filter{ResourceType: ResourceTopic, ResourceName: str("ord"), PatternType: PatternLiteral, Operation: OpAny, Permission: PermissionAny}, pre, false},
		{"prefixed filter, exact name", Filter{ResourceType: ResourceTopic, ResourceName: str("ord"), PatternType: PatternPrefixed, Operation: OpAny, Permission: PermissionAny}, pre, true},
		{"principal", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Principal: str("User:bob"), Operation: OpAny, Permission: PermissionAny}, lit, false},
		{"host", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Host: str("*"), Operation: OpAny, Permission: PermissionAny}, lit, true},
		{"operation", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpWrite, Permission: PermissionAny}, lit, false},
		{"permission", Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionDeny}, lit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Matches(tt.b); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBindingValidate(t *testing.T) {
	good := allow(ResourceTopic, "t", PatternLiteral, "User:alice", OpRead)
	tests := []struct {
		name   string
		change func(*Binding)
		ok     bool
	}{
		{"good", func(*Binding) {}, true},
		{"any resource type", func(b *Binding) { b.ResourceType = ResourceAny }, false},
		{"match pattern", func(b *Binding) { b.PatternType = PatternMatch }, false},
		{"any operation", func(b *Binding) { b.Operation = OpAny }, false},
		{"unknown permission", func(b *Binding) { b.Permission = PermissionUnknown }, false},
		{"principal without a type", func(b *Binding) { b.Principal = "alice" }, false},
		{"host name instead of IP", func(b *Binding) { b.Host = "example.com" }, false},
		{"IPv6 host", func(b *Binding) { b.Host = "::1" }, true},
		{"cluster with another name", func(b *Binding) { b.ResourceType, b.ResourceName = ResourceCluster, "c" }, false},
		{"cluster", func(b *Binding) { b.ResourceType, b.ResourceName = ResourceCluster, ClusterName }, true},
		{"prefixed wildcard", func(b *Binding) { b.PatternType, b.ResourceName = PatternPrefixed, "*" }, false},
		{"empty name", func(b *Binding) { b.ResourceName = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			tt.change(&b)
			err := b.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestSetIndexesAndSorts(t *testing.T) {
	b1 := allow(ResourceTopic, "b", PatternLiteral, "User:x", OpRead)
	b2 := allow(ResourceTopic, "a", PatternLiteral, "User:x", OpRead)
	s := NewSet([]Binding{b1, b2, b1})
	if s.Len() != 2 || s.All()[0] != b2 {
		t.Fatalf("set = %+v, want [a b] without the duplicate", s.All())
	}
	if !s.Contains(b1) || s.Contains(allow(ResourceTopic, "c", PatternLiteral, "User:x", OpRead)) {
		t.Fatal("Contains is wrong")
	}
}
