package handler

// DescribeLogDirs: v0-5
//
// Behavior:
// * One log dir (the data directory); null topics means every partition
// * Sizes are the bytes of each partition's segments; offset lag is 0
//
// Version notes:
// * v2: flexible
// * v3: top-level error code
// * v4: total and usable bytes of the volume
// * v5: whether the log dir is cordoned (KIP-1066): never

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDescribeLogDirs(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !h.allowedCluster(req, acl.OpDescribe) {
		// v3+ carries the error; older clients see no log dirs, as Kafka.
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = h.opts.Broker.DataDir()
	dir.TotalBytes, dir.UsableBytes = diskSpace(dir.Dir)
	add := func(topic string, idx []int32) {
		t := kmsg.NewDescribeLogDirsResponseDirTopic()
		t.Topic = topic
		for _, i := range idx {
			if p, ok := h.catalog.Partition(topic, i); ok {
				pp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
				pp.Partition, pp.Size = i, p.Size()
				t.Partitions = append(t.Partitions, pp)
			}
		}
		if len(t.Partitions) > 0 {
			dir.Topics = append(dir.Topics, t)
		}
	}
	if r.Topics == nil {
		for _, t := range h.catalog.Metadata().Topics() {
			idx := make([]int32, t.Partitions)
			for i := range idx {
				idx[i] = int32(i)
			}
			add(t.Name, idx)
		}
	} else {
		for _, rt := range r.Topics {
			add(rt.Topic, rt.Partitions)
		}
	}
	resp.Dirs = append(resp.Dirs, dir)
	return respond(resp)
}
