package txn

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/protocol"
)

// ErrCorruptRecord means a __transaction_state record could not be decoded.
var ErrCorruptRecord = errors.New("corrupt __transaction_state record")

// Record versions written: key 0, and value 0 as Kafka 3.x writes it unless
// a field of value 1 (KIP-890's tagged fields: the previous and next producer
// ids, the client's transaction protocol) is set.
const (
	keyVersion     = 0
	valueVersion   = 0
	valueVersionV2 = 1
)

func partitionFor(txnID string, partitions int32) int32 {
	return protocol.CoordinatorPartition(txnID, partitions)
}

// encodeKey returns the record key of a transactional id (a tombstone is
// the key alone).
func encodeKey(txnID string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version = keyVersion
	k.TransactionalID = txnID
	return k.AppendTo(nil)
}

// encodeRecord returns the key and value recording st.
func encodeRecord(st *state) (key, value []byte) {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	if st.clientVersion != 0 || st.prevProducerID >= 0 || st.nextProducerID >= 0 {
		v.Version = valueVersionV2
		v.PreviousProducerID, v.NextProducerID = st.prevProducerID, st.nextProducerID
		v.ClientTransactionVersion = st.clientVersion
	}
	v.ProducerID, v.ProducerEpoch = st.producerID, st.epoch
	v.TimeoutMillis = int32(st.timeout / time.Millisecond)
	v.State = st.status
	v.LastUpdateTimestamp = st.updated.UnixMilli()
	v.StartTimestamp = -1
	if !st.started.IsZero() {
		v.StartTimestamp = st.started.UnixMilli()
	}
	byTopic := map[string][]int32{}
	for tp := range st.partitions {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		parts := byTopic[t]
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		vt := kmsg.NewTxnMetadataValueTopic()
		vt.Topic, vt.Partitions = t, parts
		v.Topics = append(v.Topics, vt)
	}
	return encodeKey(st.id), v.AppendTo(nil)
}

// decodeRecord decodes one record; ok is false for a tombstone.
func decodeRecord(key, value []byte) (id string, st state, ok bool, err error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", state{}, false, fmt.Errorf("%w: key: %v", ErrCorruptRecord, err)
	}
	if k.Version != 0 {
		return "", state{}, false, fmt.Errorf("%w: key version %d", ErrCorruptRecord, k.Version)
	}
	if value == nil {
		return k.TransactionalID, state{}, false, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return "", state{}, false, fmt.Errorf("%w: value of %s: %v", ErrCorruptRecord, k.TransactionalID, err)
	}
	if v.State < kmsg.TransactionStateEmpty || v.State > kmsg.TransactionStatePrepareEpochFence || v.TimeoutMillis < 0 {
		return "", state{}, false, fmt.Errorf("%w: %s has state %d, timeout %d", ErrCorruptRecord, k.TransactionalID, v.State, v.TimeoutMillis)
	}
	st = state{
		id: k.TransactionalID, producerID: v.ProducerID, epoch: v.ProducerEpoch,
		timeout: time.Duration(v.TimeoutMillis) * time.Millisecond,
		status:  v.State, partitions: map[TopicPartition]struct{}{},
		updated:       time.UnixMilli(v.LastUpdateTimestamp),
		clientVersion: v.ClientTransactionVersion,
		// Tags absent (value 0, or Kafka's writers) read as -1.
		prevProducerID: v.PreviousProducerID, nextProducerID: v.NextProducerID,
	}
	if v.State == kmsg.TransactionStatePrepareEpochFence {
		// Kafka's intermediate fencing state: the fence completes as an
		// abort.
		st.status = kmsg.TransactionStatePrepareAbort
	}
	if v.StartTimestamp >= 0 {
		st.started = time.UnixMilli(v.StartTimestamp)
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			st.partitions[TopicPartition{t.Topic, p}] = struct{}{}
		}
	}
	return st.id, st, true, nil
}
