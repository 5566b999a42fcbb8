package handler

// Authorization: with authorizer.class.name set, every handler asks the
// authorizer (internal/acl) before it acts, with the operation and resource
// Kafka's broker checks for that API; without it, everything is allowed.
// The principal is "User:" and the SASL user, or User:ANONYMOUS.

import (
	"errors"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

// errSecurityDisabled: an ACL API on a broker without an authorizer.
var errSecurityDisabled = errors.New("no authorizer is configured on the broker (authorizer.class.name)")

// errClusterNotAuthorized: the request needs an operation on the cluster
// its principal may not perform.
var errClusterNotAuthorized = errors.New("not authorized on the cluster")

// subject is who a request acts as.
type subject struct{ principal, host string }

func subjectOf(req *conn.Request) subject {
	host := req.Conn.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return subject{principal: "User:" + req.Conn.Principal(), host: host}
}

// allowed reports whether the request may perform op on the resource.
func (h *Handler) allowed(req *conn.Request, op acl.Operation, typ acl.ResourceType, name string) bool {
	a := h.opts.Authorizer
	if a == nil {
		return true
	}
	s := subjectOf(req)
	if a.Authorize(s.principal, s.host, op, typ, name) {
		return true
	}
	h.log.Debug("request denied", "principal", s.principal, "host", s.host, "operation", op, "resource_type", typ, "resource", name, "api_key", req.Header.Key)
	return false
}

// allowedCluster reports whether the request may perform op on the cluster.
func (h *Handler) allowedCluster(req *conn.Request, op acl.Operation) bool {
	return h.allowed(req, op, acl.ResourceCluster, acl.ClusterName)
}

// allowedTopic reports whether the request may perform op on a topic.
func (h *Handler) allowedTopic(req *conn.Request, op acl.Operation, topic string) bool {
	return h.allowed(req, op, acl.ResourceTopic, topic)
}

// allowedAnyTopic reports whether the request may perform op on at least
// one topic (an idempotent producer's InitProducerId).
func (h *Handler) allowedAnyTopic(req *conn.Request, op acl.Operation) bool {
	a := h.opts.Authorizer
	if a == nil {
		return true
	}
	s := subjectOf(req)
	return a.AuthorizeAnyOf(s.principal, s.host, op, acl.ResourceTopic)
}

// authorizedOperations is the authorized-operations bit set of a resource
// for Metadata, DescribeGroups and DescribeCluster (every operation of the
// type without an authorizer, as Kafka answers).
func (h *Handler) authorizedOperations(req *conn.Request, typ acl.ResourceType, name string) int32 {
	if h.opts.Authorizer == nil {
		return h.opts.Authorizer.AuthorizedOperations("", "", typ, name)
	}
	s := subjectOf(req)
	return h.opts.Authorizer.AuthorizedOperations(s.principal, s.host, typ, name)
}

// allowedTxn reports whether the request may perform op on a transactional id.
func (h *Handler) allowedTxn(req *conn.Request, op acl.Operation, id string) bool {
	return h.allowed(req, op, acl.ResourceTransactionalID, id)
}

// allowedTopicCreate reports whether the request may create the topic: CREATE
// on the cluster or on the topic.
func (h *Handler) allowedTopicCreate(req *conn.Request, topic string) bool {
	return h.allowedCluster(req, acl.OpCreate) || h.allowedTopic(req, acl.OpCreate, topic)
}

// configsDenied is the error code for a config resource the request may not
// describe or alter (op), or 0: topics need op on the topic, the broker
// needs it on the cluster.
func (h *Handler) configsDenied(req *conn.Request, op acl.Operation, resourceType int8, name string) int16 {
	switch resourceType {
	case resourceTopic:
		if !h.allowedTopic(req, op, name) {
			return kerr.TopicAuthorizationFailed.Code
		}
	case resourceBroker, resourceBrokerLogger:
		if !h.allowedCluster(req, op) {
			return kerr.ClusterAuthorizationFailed.Code
		}
	case resourceGroup:
		if !h.allowed(req, op, acl.ResourceGroup, name) {
			return kerr.GroupAuthorizationFailed.Code
		}
	}
	return 0
}

// aclAPIRefusal is why an ACL API may not run, or nil: no authorizer
// (SECURITY_DISABLED, as Kafka) or no op on the cluster.
func (h *Handler) aclAPIRefusal(req *conn.Request, op acl.Operation) error {
	switch {
	case h.opts.Authorizer == nil:
		return errSecurityDisabled
	case !h.allowedCluster(req, op):
		return errClusterNotAuthorized
	}
	return nil
}
