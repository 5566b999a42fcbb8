package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// describeTopicPartitions sends one DescribeTopicPartitions request.
func describeTopicPartitions(ctx context.Context, t *testing.T, cl *kgo.Client, limit int32, cursor *kmsg.DescribeTopicPartitionsRequestCursor, names ...string) *kmsg.DescribeTopicPartitionsResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit, req.Cursor = limit, cursor
	for _, n := range names {
		rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		rt.Topic = n
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// topicPartitionsOf lists a response as "topic:partition" and "topic!ERROR".
func topicPartitionsOf(resp *kmsg.DescribeTopicPartitionsResponse) []string {
	var out []string
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			out = append(out, fmt.Sprintf("%s!%s", *rt.Topic, kerr.ErrorForCode(rt.ErrorCode).(*kerr.Error).Message))
			continue
		}
		for _, p := range rt.Partitions {
			out = append(out, fmt.Sprintf("%s:%d", *rt.Topic, p.Partition))
		}
	}
	return out
}

// DescribeTopicPartitions (Kafka 3.8+, which Kafka's admin client uses to
// describe topics) answers the named topics or all of them, sorted, in pages
// of at most the limit, with a cursor to go on from.
func TestDescribeTopicPartitions(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"max.request.partition.size.limit": "4"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "dtp-b", 3, nil)
	createTopic(t, adm, "dtp-a", 2, nil)
	cl := b.Client()

	resp := describeTopicPartitions(ctx, t, cl, 100, nil, "dtp-b", "dtp-a", "dtp-missing", "bad name")
	want := []string{"bad name!" + kerr.InvalidTopicException.Message, "dtp-a:0", "dtp-a:1", "dtp-b:0", "dtp-b:1"}
	if got := topicPartitionsOf(resp); !slices.Equal(got, want) {
		t.Fatalf("first page %v, want %v (the broker's limit is 4)", got, want)
	}
	if c := resp.NextCursor; c == nil || c.Topic != "dtp-b" || c.Partition != 2 {
		t.Fatalf("cursor %+v, want dtp-b:2", c)
	}
	a := resp.Topics[1]
	if a.TopicID == [16]byte{} || a.Partitions[0].LeaderID != 0 || !slices.Equal(a.Partitions[0].ISR, []int32{0}) {
		t.Fatalf("dtp-a: %+v", a)
	}
	next := &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	resp = describeTopicPartitions(ctx, t, cl, 100, next, "dtp-b", "dtp-a", "dtp-missing")
	if got, want := topicPartitionsOf(resp), []string{"dtp-b:2", "dtp-missing!" + kerr.UnknownTopicOrPartition.Message}; !slices.Equal(got, want) || resp.NextCursor != nil {
		t.Fatalf("second page %v (cursor %+v), want %v and no cursor", got, resp.NextCursor, want)
	}

	// Every topic, internal ones included, two partitions at a time.
	var all []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for range 100 {
		resp := describeTopicPartitions(ctx, t, cl, 2, cursor)
		all = append(all, topicPartitionsOf(resp)...)
		if resp.NextCursor == nil {
			break
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	for _, p := range []string{"dtp-a:0", "dtp-a:1", "dtp-b:0", "dtp-b:1", "dtp-b:2", "__consumer_offsets:0"} {
		if !slices.Contains(all, p) {
			t.Fatalf("paging through every topic missed %s: %v", p, all)
		}
	}
	var order []string // each topic once, in the order answered
	for _, p := range all {
		if name := p[:strings.LastIndexByte(p, ':')]; len(order) == 0 || order[len(order)-1] != name {
			order = append(order, name)
		}
	}
	if !slices.IsSorted(order) || len(slices.Compact(slices.Clone(order))) != len(order) {
		t.Fatalf("topics out of order or split: %v", order)
	}

	// A cursor whose topic is not named is refused.
	bad := describeTopicPartitions(ctx, t, cl, 10, &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "dtp-c"}, "dtp-a")
	if len(bad.Topics) != 1 || bad.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("cursor outside the topics: %+v", bad.Topics)
	}
}
