package group

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// KV is one record of __consumer_offsets: Kafka's key and value bytes. A nil
// Value is a tombstone.
type KV struct{ Key, Value []byte }

// ErrCorruptRecord means a __consumer_offsets record could not be decoded. Replay
// skips such records instead of failing the shard.
var ErrCorruptRecord = errors.New("corrupt __consumer_offsets record")

// Key versions of __consumer_offsets records. Versions 0 and 1 share one
// layout (an offset commit); 2 is group metadata; 3 and above are KIP-848 and
// share-group records that this coordinator neither writes nor reads.
const (
	offsetCommitKeyVersion  = 1
	groupMetadataKeyVersion = 2
)

// Value versions written, as Kafka 3.x writes them.
const (
	// offsetValueVersion carries the leader epoch (Kafka 2.1+).
	offsetValueVersion = 3
	// offsetValueVersionExpiring carries an explicit expire timestamp; Kafka
	// still writes it when an old OffsetCommit (v1–v4) asked for a retention.
	offsetValueVersionExpiring = 1
	// groupValueVersion carries static instance ids (Kafka 2.3+).
	groupValueVersion = 3
)

// committedOffset is one committed offset of a group.
type committedOffset struct {
	offset      int64
	leaderEpoch int32  // -1 when unknown
	metadata    string // never null on the wire; "" when the commit had none
	commitTime  int64  // unix ms
	expireTime  int64  // unix ms; -1 unless the commit asked for a retention (v1–v4)
}

func offsetCommitKey(group, topic string, partition int32) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version = offsetCommitKeyVersion
	k.Group, k.Topic, k.Partition = group, topic, partition
	return k.AppendTo(nil)
}

func offsetCommitRecord(group, topic string, partition int32, o *committedOffset) KV {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	if o.expireTime >= 0 {
		v.Version = offsetValueVersionExpiring
		v.ExpireTimestamp = o.expireTime
	}
	v.Offset = o.offset
	v.LeaderEpoch = o.leaderEpoch
	v.Metadata = o.metadata
	v.CommitTimestamp = o.commitTime
	return KV{Key: offsetCommitKey(group, topic, partition), Value: v.AppendTo(nil)}
}

func offsetTombstone(group, topic string, partition int32) KV {
	return KV{Key: offsetCommitKey(group, topic, partition)}
}

func groupMetadataKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version = groupMetadataKeyVersion
	k.Group = group
	return k.AppendTo(nil)
}

func groupTombstone(group string) KV { return KV{Key: groupMetadataKey(group)} }

// groupMetadataRecord snapshots a classic group: its generation, protocol,
// leader and every member with its subscription for the selected protocol and
// its assignment.
func groupMetadataRecord(g *group) KV {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		v.Protocol = new(g.protocol)
	}
	if g.leader != "" {
		v.Leader = new(g.leader)
	}
	v.CurrentStateTimestamp = -1
	if !g.stateSince.IsZero() {
		v.CurrentStateTimestamp = g.stateSince.UnixMilli()
	}
	for _, m := range g.membersInOrder() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = m.instanceID
		vm.ClientID = m.clientID
		vm.ClientHost = m.clientHost
		vm.RebalanceTimeoutMillis = durationMillis(m.rebalanceTimeout)
		vm.SessionTimeoutMillis = durationMillis(m.sessionTimeout)
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	return KV{Key: groupMetadataKey(g.id), Value: v.AppendTo(nil)}
}

// recordKind says what a decoded record describes.
type recordKind uint8

const (
	recordUnknown       recordKind = iota // a key version this coordinator does not read
	recordOffsetCommit                    // key version 0 or 1
	recordGroupMetadata                   // key version 2
	recordConsumerGroup                   // key versions 3 and 5–8 (KIP-848)
)

// decodedRecord is one __consumer_offsets record as replay sees it.
type decodedRecord struct {
	kind      recordKind
	group     string
	topic     string
	partition int32
	offset    *committedOffset         // nil: offset tombstone
	metadata  *kmsg.GroupMetadataValue // nil: group tombstone
	consumer  *cgRecord
}

// decodeRecord parses one record. Unknown key versions decode to recordUnknown
// without error so newer brokers' records are skipped; malformed bytes give an
// error wrapping ErrCorruptRecord.
func decodeRecord(key, value []byte) (decodedRecord, error) {
	if len(key) < 2 {
		return decodedRecord{}, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	version := int16(key[0])<<8 | int16(key[1])
	switch {
	case version == 0 || version == 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: offset commit key: %v", ErrCorruptRecord, err)
		}
		rec := decodedRecord{kind: recordOffsetCommit, group: k.Group, topic: k.Topic, partition: k.Partition}
		if value == nil {
			return rec, nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: offset commit value for group %q: %v", ErrCorruptRecord, k.Group, err)
		}
		if v.Version < 0 || v.Version > 4 {
			return decodedRecord{}, fmt.Errorf("%w: offset commit value version %d", ErrCorruptRecord, v.Version)
		}
		o := &committedOffset{
			offset:      v.Offset,
			leaderEpoch: -1,
			metadata:    v.Metadata,
			commitTime:  v.CommitTimestamp,
			expireTime:  -1,
		}
		if v.Version >= 3 {
			o.leaderEpoch = v.LeaderEpoch
		}
		if v.Version == 1 && v.ExpireTimestamp >= 0 {
			o.expireTime = v.ExpireTimestamp
		}
		rec.offset = o
		return rec, nil

	case version == groupMetadataKeyVersion:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: group metadata key: %v", ErrCorruptRecord, err)
		}
		rec := decodedRecord{kind: recordGroupMetadata, group: k.Group}
		if value == nil {
			return rec, nil
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(value); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: group metadata value for group %q: %v", ErrCorruptRecord, k.Group, err)
		}
		if v.Version < 0 || v.Version > 4 {
			return decodedRecord{}, fmt.Errorf("%w: group metadata value version %d", ErrCorruptRecord, v.Version)
		}
		rec.metadata = &v
		return rec, nil

	case version == cgMetadataKeyVersion, version == cgMemberMetadataKeyVersion, version == cgTargetMetadataKeyVersion,
		version == cgTargetMemberKeyVersion, version == cgCurrentAssignmentKeyVersion:
		group, rec, err := decodeConsumerRecord(version, key, value)
		if err != nil {
			return decodedRecord{}, err
		}
		return decodedRecord{kind: recordConsumerGroup, group: group, consumer: rec}, nil
	case version > groupMetadataKeyVersion:
		return decodedRecord{kind: recordUnknown}, nil
	default:
		return decodedRecord{}, fmt.Errorf("%w: key version %d", ErrCorruptRecord, version)
	}
}

// replay applies one record read back from the log. Undecodable records return
// an error and change nothing; the loader logs and skips them.
func (s *shardState) replay(key, value []byte) error {
	rec, err := decodeRecord(key, value)
	if err != nil {
		return err
	}
	switch rec.kind {
	case recordOffsetCommit:
		g := s.groups[rec.group]
		if rec.offset == nil {
			s.dropPending(rec.group, rec.topic, rec.partition) // as the step that wrote it did
			if g != nil {
				g.deleteOffset(rec.topic, rec.partition)
				s.dropIfUnused(g)
			}
			return nil
		}
		if g == nil {
			g = newGroup(rec.group)
			s.groups[g.id] = g
		}
		g.setOffset(rec.topic, rec.partition, rec.offset)
	case recordGroupMetadata:
		g := s.groups[rec.group]
		if rec.metadata == nil {
			if g != nil {
				g.resetClassic()
				g.hasMetadata = false
				s.dropIfUnused(g)
			}
			return nil
		}
		if g == nil {
			g = newGroup(rec.group)
			s.groups[g.id] = g
		}
		g.loadMetadata(rec.metadata)
	case recordConsumerGroup:
		s.replayConsumerRecord(rec.group, key, value, rec.consumer)
	}
	return nil
}

// dropIfUnused forgets a replayed group that has neither metadata nor offsets.
func (s *shardState) dropIfUnused(g *group) {
	if !g.hasMetadata && (g.cgLog == nil || len(g.cgLog.records) == 0) && g.removable() {
		delete(s.groups, g.id)
	}
}

// loadMetadata rebuilds a classic group from its latest GroupMetadata record:
// Stable if it has members, else Empty (Kafka's loadGroup).
func (g *group) loadMetadata(v *kmsg.GroupMetadataValue) {
	g.resetClassic()
	g.hasMetadata = true
	g.protocolType = v.ProtocolType
	g.generation = v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.CurrentStateTimestamp >= 0 {
		g.stateSince = time.UnixMilli(v.CurrentStateTimestamp)
	}
	for _, vm := range v.Members {
		m := &member{
			id:               vm.MemberID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			protocolType:     v.ProtocolType,
			rebalanceTimeout: millis(vm.RebalanceTimeoutMillis),
			sessionTimeout:   millis(vm.SessionTimeoutMillis),
			assignment:       bytes.Clone(vm.Assignment),
		}
		if v.Version == 0 || vm.RebalanceTimeoutMillis < 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		if vm.InstanceID != nil {
			m.instanceID = new(*vm.InstanceID)
		}
		if g.protocol != "" {
			m.protocols = []protocol{{name: g.protocol, metadata: bytes.Clone(vm.Subscription)}}
		}
		if _, dup := g.members[m.id]; dup || m.id == "" {
			continue // a corrupt record cannot make a member twice
		}
		g.addMember(m)
	}
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	if len(g.members) == 0 {
		g.state = stateEmpty
		g.leader = ""
	} else {
		g.state = stateStable
	}
}

// finishLoad readies replayed groups for requests: members get a full
// session to heartbeat again, and subscriptions are parsed for offset
// expiry and OffsetDelete.
func (s *shardState) finishLoad(now time.Time) {
	var fx effects // a freshly loaded group has nobody parked to answer
	for _, g := range s.sortedGroups() {
		if g.cg != nil {
			s.loadConsumerGroup(now, g)
			continue
		}
		g.computeSubscribedTopics()
		for _, m := range g.members {
			m.heartbeatDeadline = now.Add(m.sessionTimeout)
		}
		if s.cfg.MaxGroupSize > 0 && len(g.members) > s.cfg.MaxGroupSize {
			s.prepareRebalance(now, g, &fx)
		}
	}
	s.nextRetentionCheck = now.Add(s.cfg.OffsetsRetentionCheckInterval)
}
