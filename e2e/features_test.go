package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// features returns the supported ranges and finalized levels an ApiVersions
// request of the given version reports.
func features(t *testing.T, addr string, version int16) (supported map[string][2]int16, finalized map[string]int16, epoch int64) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = version
	req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa-e2e", "1"
	resp := dial(t, addr).roundTrip(req).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions v%d: %v", version, kerr.ErrorForCode(resp.ErrorCode))
	}
	supported, finalized = map[string][2]int16{}, map[string]int16{}
	for _, f := range resp.SupportedFeatures {
		supported[f.Name] = [2]int16{f.MinVersion, f.MaxVersion}
	}
	for _, f := range resp.FinalizedFeatures {
		if f.MinVersionLevel != f.MaxVersionLevel {
			t.Errorf("finalized %s: min level %d, max level %d", f.Name, f.MinVersionLevel, f.MaxVersionLevel)
		}
		finalized[f.Name] = f.MaxVersionLevel
	}
	return supported, finalized, resp.FinalizedFeaturesEpoch
}

// joinHeartbeat sends the first ConsumerGroupHeartbeat of a KIP-848 member
// and returns its error code.
func joinHeartbeat(ctx context.Context, t *testing.T, cl *kgo.Client) int16 {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch, req.RebalanceTimeoutMillis = "clicks-848", "e2e-member-1", 0, 30000
	req.SubscribedTopicNames, req.Topics = []string{"clicks"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.ErrorCode
}

// TestFeatureFlags: ApiVersions reports the supported features and the
// finalized levels (v3 without the features whose minimum is 0, as Kafka);
// UpdateFeatures applies all updates or none, refuses unknown features,
// levels out of range and downgrades without a downgrade type with
// INVALID_UPDATE_VERSION, honours ValidateOnly, and persists what it
// finalized. group.version 0 turns the KIP-848 APIs off (UNSUPPORTED_VERSION)
// and 1 on again.
func TestFeatureFlags(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client()

	supported, finalized, epoch := features(t, b.Addr, 4)
	wantSupported := map[string][2]int16{"metadata.version": {25, 25}, "group.version": {0, 1}, "transaction.version": {0, 2}}
	if len(supported) != len(wantSupported) {
		t.Errorf("v4 supported features %v, want %v", supported, wantSupported)
	}
	for name, r := range wantSupported {
		if supported[name] != r {
			t.Errorf("v4 supported %s: %v, want %v", name, supported[name], r)
		}
	}
	if len(finalized) != 3 || finalized["metadata.version"] != 25 || finalized["group.version"] != 1 || finalized["transaction.version"] != 2 {
		t.Errorf("v4 finalized %v, want metadata.version 25, group.version 1 and transaction.version 2", finalized)
	}
	if epoch < 0 {
		t.Errorf("finalized features epoch %d", epoch)
	}
	supported, finalized, _ = features(t, b.Addr, 3)
	if len(supported) != 1 || supported["metadata.version"] != [2]int16{25, 25} {
		t.Errorf("v3 supported features %v, want metadata.version only (minimum 0 omitted)", supported)
	}
	if finalized["group.version"] != 1 {
		t.Errorf("v3 finalized %v", finalized)
	}

	type update struct {
		name        string
		level       int16
		upgradeType int8
	}
	// kgo sends the highest version both sides know: these go by hand.
	rc := dial(t, b.Addr)
	send := func(version int16, validateOnly bool, updates ...update) *kmsg.UpdateFeaturesResponse {
		t.Helper()
		req := kmsg.NewPtrUpdateFeaturesRequest()
		req.Version, req.ValidateOnly = version, validateOnly
		for _, u := range updates {
			fu := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
			fu.Feature, fu.MaxVersionLevel, fu.UpgradeType = u.name, u.level, u.upgradeType
			fu.AllowDowngrade = u.upgradeType > 1
			req.FeatureUpdates = append(req.FeatureUpdates, fu)
		}
		return rc.roundTrip(req).(*kmsg.UpdateFeaturesResponse)
	}
	refused := func(resp *kmsg.UpdateFeaturesResponse, code *kerr.Error, msg string) {
		t.Helper()
		if resp.ErrorCode != code.Code {
			t.Errorf("error %v, want %v", kerr.ErrorForCode(resp.ErrorCode), code)
		}
		if resp.ErrorMessage == nil || !strings.Contains(*resp.ErrorMessage, msg) {
			t.Errorf("message %v, want it to contain %q", resp.ErrorMessage, msg)
		}
		if len(resp.Results) != 0 {
			t.Errorf("a refused update has results: %v", resp.Results)
		}
	}
	groupVersion := func() int16 {
		t.Helper()
		_, f, _ := features(t, b.Addr, 4)
		return f["group.version"]
	}

	refused(send(1, false, update{"sarama.unsupported.feature", 1, 1}), kerr.InvalidUpdateVersion, "does not support this feature")
	refused(send(1, false, update{"transaction.version", 3, 1}), kerr.InvalidUpdateVersion, "only supports versions 0-2")
	refused(send(1, false, update{"metadata.version", 7, 2}), kerr.InvalidUpdateVersion, "only supports versions 25-25")
	refused(send(1, false, update{"group.version", 0, 1}), kerr.InvalidUpdateVersion, "without setting the upgrade type")
	refused(send(1, false, update{"group.version", -1, 2}), kerr.InvalidUpdateVersion, "cannot be less than 0")
	refused(send(1, false, update{"group.version", 0, 4}), kerr.InvalidUpdateVersion, "upgrade type")
	refused(send(1, false, update{"group.version", 0, 2}, update{"group.version", 0, 2}), kerr.InvalidRequest, "more than once")
	// One bad update fails them all.
	refused(send(1, false, update{"group.version", 0, 2}, update{"transaction.version", 1, 1}), kerr.InvalidUpdateVersion, "failed for all features")
	if v := groupVersion(); v != 1 {
		t.Fatalf("after refused updates group.version is %d", v)
	}

	// The current level is a valid upgrade: results per feature at v1.
	resp := send(1, false, update{"metadata.version", 25, 1}, update{"group.version", 1, 1})
	if resp.ErrorCode != 0 || len(resp.Results) != 2 {
		t.Fatalf("no-op upgrade: error %v, results %v", kerr.ErrorForCode(resp.ErrorCode), resp.Results)
	}
	for _, r := range resp.Results {
		if r.ErrorCode != 0 {
			t.Errorf("no-op upgrade result %s: %v", r.Feature, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if resp := send(1, true, update{"group.version", 0, 2}); resp.ErrorCode != 0 {
		t.Fatalf("validate-only downgrade: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if v := groupVersion(); v != 1 {
		t.Fatalf("after a validate-only downgrade group.version is %d", v)
	}

	// group.version 0 turns the consumer protocol off (v0: AllowDowngrade).
	if resp := send(0, false, update{"group.version", 0, 2}); resp.ErrorCode != 0 {
		t.Fatalf("downgrade: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if _, f, _ := features(t, b.Addr, 4); len(f) != 2 || f["group.version"] != 0 {
		t.Errorf("finalized after the downgrade: %v, want metadata.version and transaction.version only", f)
	}
	heartbeat := func() int16 { return joinHeartbeat(ctx, t, cl) }
	if code := heartbeat(); code != kerr.UnsupportedVersion.Code {
		t.Errorf("heartbeat at group.version 0: %v, want UNSUPPORTED_VERSION", kerr.ErrorForCode(code))
	}
	describe := kmsg.NewPtrConsumerGroupDescribeRequest()
	describe.Groups = []string{"clicks-848"}
	dresp, err := describe.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dresp.Groups) != 1 || dresp.Groups[0].ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("describe at group.version 0: %+v", dresp.Groups)
	}

	// The level is in the metadata log: a restart keeps it.
	b.Restart()
	cl, rc = b.Client(), dial(t, b.Addr)
	if v := groupVersion(); v != 0 {
		t.Fatalf("after restart group.version is %d, want 0", v)
	}
	if resp := send(2, false, update{"group.version", 1, 1}); resp.ErrorCode != 0 || len(resp.Results) != 0 {
		t.Fatalf("upgrade at v2: error %v, results %v (v2 has none)", kerr.ErrorForCode(resp.ErrorCode), resp.Results)
	}
	if code := heartbeat(); code != 0 {
		t.Errorf("heartbeat at group.version 1: %v", kerr.ErrorForCode(code))
	}
}

// TestConsumerProtocolDisabledByConfig: group.coordinator.rebalance.protocols
// without consumer turns the KIP-848 APIs off, as group.version 0 does;
// classic groups go on working.
func TestConsumerProtocolDisabledByConfig(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"group.coordinator.rebalance.protocols": "classic"})
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client()
	if code := joinHeartbeat(ctx, t, cl); code != kerr.UnsupportedVersion.Code {
		t.Errorf("heartbeat with the consumer protocol off: %v, want UNSUPPORTED_VERSION", kerr.ErrorForCode(code))
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "clicks-classic", "consumer", 30000, 30000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	jresp, err := join.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	// v4+ asks a new member to rejoin with its id: a classic answer.
	if code := jresp.ErrorCode; code != 0 && code != kerr.MemberIDRequired.Code {
		t.Errorf("classic join: %v", kerr.ErrorForCode(code))
	}
}

// TestApiVersionsExpectedBroker: ApiVersions v5 may name the cluster and node
// the client expects (KIP-1242). The right ones, or neither, get the usual
// answer; another cluster or node gets REBOOTSTRAP_REQUIRED; naming only one
// of them is INVALID_REQUEST.
func TestApiVersionsExpectedBroker(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cluster, err := b.Admin().BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	self := cluster.Brokers[0].NodeID
	for _, tc := range []struct {
		name      string
		clusterID *string
		nodeID    int32
		want      int16
	}{
		{"bootstrapping", nil, -1, 0},
		{"this broker", &cluster.Cluster, self, 0},
		{"another cluster", kmsg.StringPtr("not-" + cluster.Cluster), self, kerr.RebootstrapRequired.Code},
		{"another node", &cluster.Cluster, self + 1, kerr.RebootstrapRequired.Code},
		{"cluster only", &cluster.Cluster, -1, kerr.InvalidRequest.Code},
		{"node only", nil, self, kerr.InvalidRequest.Code},
	} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 5
		req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa-e2e", "1"
		req.ClusterID, req.NodeID = tc.clusterID, tc.nodeID
		resp := dial(t, b.Addr).roundTrip(req).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != tc.want || (tc.want == 0) != (len(resp.ApiKeys) > 0) {
			t.Errorf("%s: %v with %d api keys, want %v", tc.name, kerr.ErrorForCode(resp.ErrorCode), len(resp.ApiKeys), kerr.ErrorForCode(tc.want))
		}
	}
	// franz-go sends v5 naming the broker once it knows the cluster.
	if _, err := b.Admin().ListTopics(ctx); err != nil {
		t.Fatalf("kadm after v5 handshakes: %v", err)
	}
}
