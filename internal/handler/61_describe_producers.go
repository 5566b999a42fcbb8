package handler

// DescribeProducers: v0
//
// Behavior:
// * Lists the idempotent and transactional producers each partition
//   remembers (the state that deduplicates retries): id, epoch, last
//   sequence and timestamp, and the first offset of an open transaction
//   (-1 when none)
// * The coordinator epoch is not tracked: -1
// * Needs READ on the topic; unknown partitions → UNKNOWN_TOPIC_OR_PARTITION

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDescribeProducers(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeProducersRequest)
	resp := r.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewDescribeProducersResponseTopic()
		t.Topic = rt.Topic
		readable := h.allowedTopic(req, acl.OpRead, rt.Topic)
		for _, index := range rt.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = index
			p, ok := h.catalog.Partition(rt.Topic, index)
			switch {
			case !readable:
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !ok:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				for _, st := range p.Producers() {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch = st.ID, int32(st.Epoch)
					ap.LastSequence, ap.LastTimestamp = -1, -1
					if n := len(st.Batches); n > 0 {
						ap.LastSequence = st.Batches[n-1].LastSeq
						ap.LastTimestamp = st.Batches[n-1].MaxTimestamp
					}
					ap.CoordinatorEpoch = -1
					ap.CurrentTxnStartOffset = st.TxnFirstOffset
					rp.ActiveProducers = append(rp.ActiveProducers, ap)
				}
			}
			t.Partitions = append(t.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}
