// Package handler implements the Kafka APIs: one file per API, named by API
// key, each opening with the API's supported versions, behaviour and version
// notes. One table (apis.go) drives both dispatch and the ApiVersions
// response, so the two cannot disagree.
//
// Handlers are thin: decode (done by kmsg), check, delegate to the topic
// catalogue, a partition or a coordinator, and build the response. Internal
// errors become Kafka error codes in one place (errors.go).
package handler

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/logging"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/protocol"
	"github.com/samsa-broker/samsa/internal/quota"
	"github.com/samsa-broker/samsa/internal/security"
	"github.com/samsa-broker/samsa/internal/tokens"
	"github.com/samsa-broker/samsa/internal/topics"
	"github.com/samsa-broker/samsa/internal/txn"
)

// Endpoint is an advertised listener address.
type Endpoint struct {
	Listener string
	Host     string
	Port     int32
}

// Options are the Handler's collaborators.
type Options struct {
	NodeID  int32
	Broker  *config.Broker
	Catalog *topics.Catalog
	Groups  GroupCoordinator
	// ProducerIDs allocates producer ids durably.
	ProducerIDs ProducerIDAllocator
	// Transactions is the transaction coordinator (internal/txn).
	Transactions TxnCoordinator
	// Tokens manages delegation tokens; nil answers their APIs
	// DELEGATION_TOKEN_AUTH_DISABLED.
	Tokens TokenManager
	// Endpoints are advertised per listener name; the first is the default.
	Endpoints []Endpoint
	// Authenticators holds the SASL mechanisms and credentials of each
	// SASL listener, by listener name.
	Authenticators map[string]*security.Authenticator
	// Credentials stores SCRAM credentials (AlterUserScramCredentials).
	Credentials CredentialStore
	// Authorizer decides every request when authorizer.class.name is set;
	// nil allows everything, as Kafka without an authorizer.
	Authorizer *acl.Authorizer
	// ACLs stores the ACL bindings (internal/metadata).
	ACLs ACLStore
	// Quotas stores the client quotas (internal/metadata); nil enforces
	// none.
	Quotas QuotaStore
	// Loggers are the runtime log levels served as BROKER_LOGGER configs;
	// nil answers BROKER_LOGGER resources with INVALID_REQUEST.
	Loggers *logging.Levels
	Logger  *slog.Logger
}

// ACLStore keeps ACL bindings durably (internal/metadata).
type ACLStore interface {
	ACLs() *acl.Set
	CreateACLs([]acl.Binding) error
	DeleteACLs([]acl.Filter) ([][]acl.Binding, error)
}

// CredentialStore keeps SCRAM credentials durably (internal/metadata).
type CredentialStore interface {
	SetScramCredential(user, mechanism string, c security.ScramCredential) error
	DeleteScramCredential(user, mechanism string) error
	ScramUsers() map[string]map[string]int
}

// GroupCoordinator serves the consumer group APIs (internal/group).
type GroupCoordinator interface {
	JoinGroup(context.Context, *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse
	SyncGroup(context.Context, *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse
	Heartbeat(context.Context, *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse
	LeaveGroup(context.Context, *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse
	OffsetCommit(context.Context, *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse
	OffsetFetch(context.Context, *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse
	OffsetDelete(context.Context, *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse
	ListGroups(context.Context, *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse
	DescribeGroups(context.Context, *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse
	DeleteGroups(context.Context, *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse
	ConsumerGroupHeartbeat(context.Context, *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse
	ConsumerGroupDescribe(context.Context, *kmsg.ConsumerGroupDescribeRequest) *kmsg.ConsumerGroupDescribeResponse
	TxnOffsetCommit(context.Context, *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse
	// TopicsDeleted removes every group's offsets of deleted topics.
	TopicsDeleted(ctx context.Context, topics []string) error
	// PartitionFor is the __consumer_offsets partition that owns a group.
	PartitionFor(group string) int32
}

// TxnCoordinator serves the transaction APIs (internal/txn).
type TxnCoordinator interface {
	InitProducerID(ctx context.Context, txnID string, timeout time.Duration, expectedID int64, expectedEpoch int16) (int64, int16, error)
	// AddPartitions adds parts to the producer's transaction; v2 marks the
	// implicit adds of transaction protocol v2 (Produce v12+, TxnOffsetCommit
	// v5+).
	AddPartitions(ctx context.Context, txnID string, producerID int64, epoch int16, parts []txn.TopicPartition, v2 bool) error
	// EndTxn ends the transaction; v2 (EndTxn v5+) bumps the epoch. It
	// returns the producer id and epoch of the producer's next transaction.
	EndTxn(ctx context.Context, txnID string, producerID int64, epoch int16, commit, v2 bool) (int64, int16, error)
	// Verify reports whether the producer's open transaction holds tp.
	Verify(producerID int64, epoch int16, tp txn.TopicPartition) error
	Describe(txnID string) (txn.Info, bool, error)
	List() ([]txn.Info, error)
}

// TokenManager serves the delegation token APIs (internal/tokens).
type TokenManager interface {
	Enabled() bool
	Create(owner, requester string, renewers []string, maxLifetime time.Duration) (tokens.Token, error)
	Renew(hmac []byte, principal string, period time.Duration) (time.Time, error)
	Expire(hmac []byte, principal string, period time.Duration) (time.Time, error)
	Describe(visible func(metadata.DelegationToken) bool) ([]tokens.Token, error)
}

// ProducerIDAllocator hands out unique producer ids that survive restarts.
type ProducerIDAllocator interface {
	NextProducerID() (int64, error)
}

// Handler serves every Kafka API Samsa supports.
type Handler struct {
	opts    Options
	log     *slog.Logger
	catalog *topics.Catalog
	groups  GroupCoordinator
	apis    map[int16]api
	// readBufs recycles the buffers fetches read record data into.
	readBufs bufferPool
	// throttler enforces the byte-rate client quotas, mutations the
	// controller_mutation_rate ones, requestTime request_percentage.
	throttler, mutations, requestTime *quota.Throttler
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{
		opts: opts, log: opts.Logger, catalog: opts.Catalog, groups: opts.Groups,
		throttler: newThrottler(opts), mutations: newMutationThrottler(opts), requestTime: newRequestTimeThrottler(opts),
	}
	h.apis = make(map[int16]api)
	for _, a := range h.apiTable() {
		h.apis[a.key] = a
	}
	return h
}

// handleFunc handles one request. Handlers that must wait (durability, long
// polls, group rebalances) return a Reply with Await set.
type handleFunc func(ctx context.Context, req *conn.Request) conn.Reply

// api is one row of the API table.
type api struct {
	key      int16
	min, max int16
	handle   handleFunc
}

func respond(r kmsg.Response) conn.Reply { return conn.Reply{Response: r} }

func await(f func(ctx context.Context) kmsg.Response) conn.Reply {
	return conn.Reply{Await: f}
}

// Dispatch routes a decoded request to its handler.
func (h *Handler) Dispatch(ctx context.Context, req *conn.Request) conn.Reply {
	key, version := req.Header.Key, req.Header.Version
	a, ok := h.apis[key]
	if !ok || version < a.min || version > a.max {
		if resp, ok := h.Unsupported(ctx, req.Header); ok {
			return respond(resp)
		}
		h.log.Warn("closing connection: unsupported request", "api", kmsg.NameForKey(key), "api_key", key, "api_version", version, "remote", req.Conn.RemoteAddr)
		return conn.Reply{Close: true}
	}
	if req.Conn.NeedsSASL.Load() && key != 17 && key != 36 && key != 18 {
		h.log.Warn("closing connection: request before SASL authentication", "api", kmsg.NameForKey(key), "remote", req.Conn.RemoteAddr)
		return conn.Reply{Close: true}
	}
	// Past connections.max.reauth.ms only a re-authentication is served;
	// anything else closes the connection, as in Kafka (KIP-368).
	if req.Conn.SessionExpired(time.Now) && key != 17 && (key != 36 || req.Conn.Auth == nil) {
		h.log.Info("closing connection: SASL session expired (connections.max.reauth.ms) without re-authentication",
			"api", kmsg.NameForKey(key), "principal", req.Conn.Principal(), "remote", req.Conn.RemoteAddr)
		return conn.Reply{Close: true}
	}
	if !h.anyQuotas() {
		return a.handle(ctx, req) // the common case: no clock read
	}
	start := time.Now()
	return h.chargeRequestTime(req, start, a.handle(ctx, req))
}

// Unsupported answers an ApiVersions request of a version we do not know with
// the v0-format UNSUPPORTED_VERSION response listing our versions (KIP-511),
// so the client retries with one we do. Other unsupported requests close the
// connection, as Kafka does.
func (h *Handler) Unsupported(_ context.Context, hdr protocol.Header) (kmsg.Response, bool) {
	if hdr.Key != 18 {
		return nil, false
	}
	resp := h.apiVersionsResponse(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	return resp, true
}
