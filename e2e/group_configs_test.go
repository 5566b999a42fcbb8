package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// describeGroupConfigs returns a GROUP resource's configs by name.
func describeGroupConfigs(ctx context.Context, t *testing.T, cl *kgo.Client, group string) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	res := resp.Resources[0]
	if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
		t.Fatalf("describe group %q configs: %v", group, err)
	}
	out := make(map[string]kmsg.DescribeConfigsResponseResourceConfig)
	for _, c := range res.Configs {
		out[c.Name] = c
	}
	return out
}

// alterGroupConfigs sets (value non-nil) or deletes group configs and
// returns the resource's error.
func alterGroupConfigs(ctx context.Context, t *testing.T, cl *kgo.Client, group string, configs map[string]*string) error {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for name, value := range configs {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = name, value
		if value == nil {
			c.Op = kmsg.IncrementalAlterConfigOpDelete
		}
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return kerr.ErrorForCode(resp.Resources[0].ErrorCode)
}

// KIP-848 group configs: a GROUP resource describes and alters a group's
// session timeout and heartbeat interval, checked against the broker's
// ranges, kept across a restart, and the group's members are told the
// group's heartbeat interval.
func TestGroupConfigs(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"group.consumer.heartbeat.interval.ms": "4000", "group.consumer.min.heartbeat.interval.ms": "1000"})
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client()
	createTopic(t, b.Admin(), "gc-topic", 1, nil)

	want := func(when, group, name, value string, source kmsg.ConfigSource) {
		t.Helper()
		c, ok := describeGroupConfigs(ctx, t, cl, group)[name]
		if !ok || c.Value == nil || *c.Value != value || c.Source != source {
			t.Fatalf("%s: %s of %s = %+v, want %s from %v", when, name, group, c, value, source)
		}
	}
	heartbeatInterval := func(group string) int32 {
		t.Helper()
		hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = group, "m-1", 0, 30000
		hb.SubscribedTopicNames = []string{"gc-topic"}
		hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		resp, err := hb.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("ConsumerGroupHeartbeat: %v %+v", err, resp)
		}
		return resp.HeartbeatIntervalMillis
	}

	// A group that does not exist has the broker's values.
	want("unset", "g848", "consumer.session.timeout.ms", "45000", kmsg.ConfigSourceDefaultConfig)
	want("unset", "g848", "consumer.heartbeat.interval.ms", "4000", kmsg.ConfigSourceDefaultConfig)
	if got := heartbeatInterval("plain"); got != 4000 {
		t.Fatalf("a group without configs heartbeats every %d ms, want the broker's 4000", got)
	}

	if err := alterGroupConfigs(ctx, t, cl, "g848", map[string]*string{"consumer.session.timeout.ms": strp("50000"), "consumer.heartbeat.interval.ms": strp("2500")}); err != nil {
		t.Fatalf("set group configs: %v", err)
	}
	want("set", "g848", "consumer.session.timeout.ms", "50000", kmsg.ConfigSourceGroupConfig)
	if got := heartbeatInterval("g848"); got != 2500 {
		t.Fatalf("the group's members heartbeat every %d ms, want its 2500", got)
	}
	for _, tc := range []struct {
		what    string
		configs map[string]*string
	}{
		{"session below group.consumer.min.session.timeout.ms", map[string]*string{"consumer.session.timeout.ms": strp("1000")}},
		{"heartbeat above group.consumer.max.heartbeat.interval.ms", map[string]*string{"consumer.heartbeat.interval.ms": strp("20000")}},
		{"not a number", map[string]*string{"consumer.session.timeout.ms": strp("soon")}},
		{"unknown name", map[string]*string{"share.session.timeout.ms": strp("45000")}},
	} {
		if err := alterGroupConfigs(ctx, t, cl, "g848", tc.configs); err != kerr.InvalidConfig {
			t.Errorf("%s: %v, want INVALID_CONFIG", tc.what, err)
		}
	}
	want("after refused changes", "g848", "consumer.session.timeout.ms", "50000", kmsg.ConfigSourceGroupConfig)

	b.Restart()
	cl = b.Client()
	want("after restart", "g848", "consumer.heartbeat.interval.ms", "2500", kmsg.ConfigSourceGroupConfig)
	if err := alterGroupConfigs(ctx, t, cl, "g848", map[string]*string{"consumer.heartbeat.interval.ms": nil}); err != nil {
		t.Fatalf("delete a group config: %v", err)
	}
	want("deleted", "g848", "consumer.heartbeat.interval.ms", "4000", kmsg.ConfigSourceDefaultConfig)
	want("deleted other", "g848", "consumer.session.timeout.ms", "50000", kmsg.ConfigSourceGroupConfig)
}
