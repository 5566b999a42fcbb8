package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestListConfigResources: ListConfigResources v1 lists the resources
// that have configs, of the types asked for (all when none): the topics,
// this broker as BROKER and as BROKER_LOGGER, the groups with group
// configs. v0 (ListClientMetricsResources) lists client metrics
// subscriptions, of which there are none, and a type the version does not
// cover fails the request with UNSUPPORTED_VERSION.
func TestListConfigResources(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client()
	createTopic(t, b.Admin(), "clicks", 1, nil)
	if err := alterGroupConfigs(ctx, t, cl, "orders-svc", map[string]*string{"consumer.session.timeout.ms": strp("50000")}); err != nil {
		t.Fatal(err)
	}
	list := func(types ...kmsg.ConfigResourceType) *kmsg.ListConfigResourcesResponse {
		t.Helper()
		req := kmsg.NewPtrListConfigResourcesRequest()
		for _, typ := range types {
			req.ResourceTypes = append(req.ResourceTypes, int8(typ))
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	type resource struct {
		typ  kmsg.ConfigResourceType
		name string
	}
	resources := func(resp *kmsg.ListConfigResourcesResponse) []resource {
		t.Helper()
		if resp.ErrorCode != 0 {
			t.Fatalf("error %v", kerr.ErrorForCode(resp.ErrorCode))
		}
		var out []resource
		for _, r := range resp.ConfigResources {
			out = append(out, resource{kmsg.ConfigResourceType(r.Type), r.Name})
		}
		return out
	}

	all := resources(list())
	for _, want := range []resource{
		{kmsg.ConfigResourceTypeTopic, "clicks"},
		{kmsg.ConfigResourceTypeBroker, "0"},
		{kmsg.ConfigResourceTypeBrokerLogger, "0"},
		{kmsg.ConfigResourceTypeGroupConfig, "orders-svc"},
	} {
		if !slices.Contains(all, want) {
			t.Errorf("all types: %v lacks %v", all, want)
		}
	}
	topics := resources(list(kmsg.ConfigResourceTypeTopic))
	for _, r := range topics {
		if r.typ != kmsg.ConfigResourceTypeTopic {
			t.Errorf("topics only: got %v", r)
		}
	}
	if !slices.Contains(topics, resource{kmsg.ConfigResourceTypeTopic, "clicks"}) {
		t.Errorf("topics only: %v lacks clicks", topics)
	}
	if got := resources(list(kmsg.ConfigResourceTypeGroupConfig)); !slices.Equal(got, []resource{{kmsg.ConfigResourceTypeGroupConfig, "orders-svc"}}) {
		t.Errorf("groups only: %v", got)
	}
	// kgo picks the highest version both sides know: v0 goes by hand.
	v0 := kmsg.NewPtrListConfigResourcesRequest()
	v0.Version = 0
	if got := resources(dial(t, b.Addr).roundTrip(v0).(*kmsg.ListConfigResourcesResponse)); len(got) != 0 {
		t.Errorf("v0 (client metrics): %v, want none", got)
	}
	if resp := list(kmsg.ConfigResourceTypeTopic, kmsg.ConfigResourceType(99)); resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ConfigResources) != 0 {
		t.Errorf("unknown type: error %d with %d resources, want UNSUPPORTED_VERSION and none", resp.ErrorCode, len(resp.ConfigResources))
	}
}
