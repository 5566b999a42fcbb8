package group

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file persists KIP-848 groups in __consumer_offsets with Kafka's
// records (the ConsumerGroup*Key/Value schemas of Kafka's group
// coordinator; kmsg has no types for them), so a restart keeps every
// member, its epoch and its partitions:
//
//	key 3  ConsumerGroupMetadata          value: group epoch
//	key 5  ConsumerGroupMemberMetadata    value: subscription, client, classic protocols
//	key 6  ConsumerGroupTargetAssignmentMetadata  value: assignment epoch
//	key 7  ConsumerGroupTargetAssignmentMember    value: the member's target partitions
//	key 8  ConsumerGroupCurrentMemberAssignment   value: epochs, state, assigned and revoking partitions
//
// Keys are the classic layout (int16 version, then int16-length strings);
// values are an int16 version 0 and then the flexible encoding (compact
// strings and arrays, uuids, tagged fields). Key 4 (partition metadata,
// deprecated in Kafka 4.1) and Kafka 4's regular-expression records are
// skipped on replay: the coordinator recomputes both.
//
// The shard keeps what it last wrote per key (group.cgLog); after a step
// changes a group, persistConsumerGroup writes the records whose encoding
// changed and tombstones those that no longer exist.

const (
	cgMetadataKeyVersion          = 3
	cgMemberMetadataKeyVersion    = 5
	cgTargetMetadataKeyVersion    = 6
	cgTargetMemberKeyVersion      = 7
	cgCurrentAssignmentKeyVersion = 8
)

// cgLog is what the log holds of a group's KIP-848 records.
type cgLog struct {
	records map[string][]byte // key bytes -> value bytes
	// epoch, assignmentEpoch and members are the group's when the records
	// were last compared in full; a change in any calls for a full compare.
	epoch, assignmentEpoch int32
	members                map[string]bool
}

func cgGroupKey(version int16, group string) []byte {
	return kbin.AppendString(kbin.AppendInt16(nil, version), group)
}

func cgMemberKey(version int16, group, member string) []byte {
	return kbin.AppendString(cgGroupKey(version, group), member)
}

func appendNoTags(b []byte) []byte { return kbin.AppendUvarint(b, 0) }

func epochValue(epoch int32) []byte {
	return appendNoTags(kbin.AppendInt32(kbin.AppendInt16(nil, 0), epoch))
}

// groupEpochValue is ConsumerGroupMetadataValue: the group epoch and, in
// tag 0 (Kafka 4.1's MetadataHash), a hash of the subscribed topics' ids
// and partition counts the target was computed for, so a restart notices
// topics that changed meanwhile.
func groupEpochValue(epoch int32, metadataHash string) []byte {
	b := kbin.AppendInt32(kbin.AppendInt16(nil, 0), epoch)
	b = kbin.AppendUvarint(b, 1)
	b = kbin.AppendUvarint(b, 0)
	b = kbin.AppendUvarint(b, 8)
	return kbin.AppendInt64(b, fingerprintHash(metadataHash))
}

// fingerprintHash hashes a subscription fingerprint (FNV-1a, 64 bits).
func fingerprintHash(fingerprint string) int64 {
	h := fnv.New64a()
	h.Write([]byte(fingerprint))
	return int64(h.Sum64())
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func memberMetadataValue(m *consumerMember) []byte {
	b := kbin.AppendInt16(nil, 0)
	b = kbin.AppendCompactNullableString(b, m.instanceID)
	b = kbin.AppendCompactNullableString(b, m.rackID)
	b = kbin.AppendCompactString(b, m.clientID)
	b = kbin.AppendCompactString(b, m.clientHost)
	b = kbin.AppendCompactArrayLen(b, len(m.topics))
	for _, t := range m.topics {
		b = kbin.AppendCompactString(b, t)
	}
	b = kbin.AppendCompactNullableString(b, optionalString(m.regex))
	b = kbin.AppendInt32(b, durationMillis(m.rebalanceTimeout))
	b = kbin.AppendCompactNullableString(b, optionalString(m.assignor))
	if m.classic == nil {
		return appendNoTags(b)
	}
	// Tag 0: ClassicMemberMetadata, a nullable struct: a presence byte 1,
	// then the struct.
	c := kbin.AppendInt32([]byte{1}, durationMillis(m.classic.sessionTimeout))
	c = kbin.AppendCompactArrayLen(c, len(m.classic.protocols))
	for _, p := range m.classic.protocols {
		c = kbin.AppendCompactString(c, p.name)
		c = kbin.AppendCompactBytes(c, p.metadata)
		c = appendNoTags(c)
	}
	c = appendNoTags(c)
	b = kbin.AppendUvarint(b, 1)
	b = kbin.AppendUvarint(b, 0)
	b = kbin.AppendUvarint(b, uint32(len(c)))
	return append(b, c...)
}

func appendTopicPartitions(b []byte, a topicPartitions) []byte {
	ids := slices.SortedFunc(maps.Keys(a), compareIDs)
	b = kbin.AppendCompactArrayLen(b, len(ids))
	for _, id := range ids {
		b = kbin.AppendUuid(b, id)
		b = kbin.AppendCompactArrayLen(b, len(a[id]))
		for _, p := range a[id] {
			b = kbin.AppendInt32(b, p)
		}
		b = appendNoTags(b)
	}
	return b
}

func targetMemberValue(a topicPartitions) []byte {
	return appendNoTags(appendTopicPartitions(kbin.AppendInt16(nil, 0), a))
}

func currentAssignmentValue(m *consumerMember) []byte {
	b := kbin.AppendInt16(nil, 0)
	b = kbin.AppendInt32(b, m.epoch)
	b = kbin.AppendInt32(b, m.previousEpoch)
	b = kbin.AppendInt8(b, int8(m.state))
	b = appendTopicPartitions(b, m.assigned)
	b = appendTopicPartitions(b, m.pendingRevocation)
	return appendNoTags(b)
}

// cgMemberRecords are a member's three records, in the order Kafka writes
// them.
func cgMemberRecords(group string, cg *consumerGroup, m *consumerMember) []KV {
	return []KV{
		{Key: cgMemberKey(cgMemberMetadataKeyVersion, group, m.id), Value: memberMetadataValue(m)},
		{Key: cgMemberKey(cgTargetMemberKeyVersion, group, m.id), Value: targetMemberValue(cg.target[m.id])},
		{Key: cgMemberKey(cgCurrentAssignmentKeyVersion, group, m.id), Value: currentAssignmentValue(m)},
	}
}

// cgGroupRecords are the group's own records: its epoch and assignment epoch.
func cgGroupRecords(group string, cg *consumerGroup) []KV {
	return []KV{
		{Key: cgGroupKey(cgMetadataKeyVersion, group), Value: groupEpochValue(cg.epoch, cg.metadataHash)},
		{Key: cgGroupKey(cgTargetMetadataKeyVersion, group), Value: epochValue(cg.assignmentEpoch)},
	}
}

// cgRecords are every record of a KIP-848 group, members by id.
func cgRecords(group string, cg *consumerGroup) []KV {
	out := cgGroupRecords(group, cg)
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		out = append(out, cgMemberRecords(group, cg, cg.members[id])...)
	}
	return out
}

// persistConsumerGroup appends the records that bring the log in line with a
// group after a step: everything when its epochs or members changed, else
// only the records of the members the step touched (the group's own records
// change only with its epochs: the metadata hash moves with the assignment
// epoch). A group that is no
// longer a KIP-848 group (or is gone) gets tombstones for all it had.
func (s *shardState) persistConsumerGroup(g *group, fx *effects, touched ...string) {
	if g == nil {
		return
	}
	if g.cg == nil {
		s.dropConsumerRecords(g, fx)
		return
	}
	cg, log := g.cg, g.cgLog
	if log == nil {
		log = &cgLog{records: make(map[string][]byte), epoch: -1, assignmentEpoch: -1}
		g.cgLog = log
	}
	full := log.epoch != cg.epoch || log.assignmentEpoch != cg.assignmentEpoch || len(log.members) != len(cg.members)
	for id := range log.members {
		if full {
			break
		}
		full = cg.members[id] == nil
	}
	var want []KV
	if full {
		want = cgRecords(g.id, cg)
	} else {
		for _, id := range touched {
			if m := cg.members[id]; m != nil {
				want = append(want, cgMemberRecords(g.id, cg, m)...)
			}
		}
	}
	// Tombstones first, as Kafka removes a member before the epoch moves on.
	if full {
		wanted := make(map[string]bool, len(want))
		for _, kv := range want {
			wanted[string(kv.Key)] = true
		}
		s.tombstoneConsumerRecords(g, fx, func(key string) bool { return !wanted[key] })
		log.epoch, log.assignmentEpoch = cg.epoch, cg.assignmentEpoch
		log.members = make(map[string]bool, len(cg.members))
		for id := range cg.members {
			log.members[id] = true
		}
	}
	for _, kv := range want {
		if old, ok := log.records[string(kv.Key)]; ok && string(old) == string(kv.Value) {
			continue
		}
		log.records[string(kv.Key)] = kv.Value
		fx.records = append(fx.records, kv)
	}
}

// dropConsumerRecords tombstones every KIP-848 record of the group.
func (s *shardState) dropConsumerRecords(g *group, fx *effects) {
	if g.cgLog == nil {
		return
	}
	s.tombstoneConsumerRecords(g, fx, func(string) bool { return true })
	g.cgLog = nil
}

// tombstoneConsumerRecords tombstones the logged keys drop selects: member
// records (current assignment, target, metadata, as Kafka orders them)
// before the group's own.
func (s *shardState) tombstoneConsumerRecords(g *group, fx *effects, drop func(key string) bool) {
	keys := slices.Collect(maps.Keys(g.cgLog.records))
	rank := func(key string) int {
		switch int16(key[0])<<8 | int16(key[1]) {
		case cgCurrentAssignmentKeyVersion:
			return 0
		case cgTargetMemberKeyVersion:
			return 1
		case cgMemberMetadataKeyVersion:
			return 2
		case cgTargetMetadataKeyVersion:
			return 3
		default:
			return 4
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		if drop(k) {
			delete(g.cgLog.records, k)
			fx.records = append(fx.records, KV{Key: []byte(k)})
		}
	}
}

// cgRecord is a decoded KIP-848 record (value nil fields: a tombstone).
type cgRecord struct {
	keyVersion int16
	member     string
	epoch      int32 // keys 3 and 6
	hash       int64 // key 3: the metadata hash, if hashKnown
	hashKnown  bool
	metadata   *consumerMember // key 5: the subscription fields
	target     topicPartitions // key 7
	current    *consumerMember // key 8: epochs, state, partitions
	tombstone  bool
}

func corrupt(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrCorruptRecord, what, err)
}

// decodeConsumerRecord parses a KIP-848 record of key version 3, 5, 6, 7 or 8.
func decodeConsumerRecord(version int16, key, value []byte) (string, *cgRecord, error) {
	kr := kbin.Reader{Src: key[2:]}
	group := kr.String()
	rec := &cgRecord{keyVersion: version, tombstone: value == nil}
	if version == cgMemberMetadataKeyVersion || version == cgTargetMemberKeyVersion || version == cgCurrentAssignmentKeyVersion {
		rec.member = kr.String()
	}
	if err := kr.Complete(); err != nil || len(kr.Src) > 0 {
		if err == nil {
			err = fmt.Errorf("%d bytes left over", len(kr.Src))
		}
		return "", nil, corrupt(fmt.Sprintf("key version %d", version), err)
	}
	if value == nil {
		return group, rec, nil
	}
	vr := kbin.Reader{Src: value}
	if v := vr.Int16(); vr.Ok() && v != 0 {
		return "", nil, fmt.Errorf("%w: key %d value version %d", ErrCorruptRecord, version, v)
	}
	switch version {
	case cgMetadataKeyVersion:
		rec.epoch = vr.Int32()
		tags := vr.Uvarint()
		for i := uint32(0); i < tags && vr.Ok(); i++ {
			tag, size := vr.Uvarint(), vr.Uvarint()
			data := kbin.Reader{Src: vr.Span(int(size))}
			if tag == 0 && size == 8 {
				rec.hash, rec.hashKnown = data.Int64(), true
			}
		}
	case cgTargetMetadataKeyVersion:
		rec.epoch = vr.Int32()
		skipTags(&vr)
	case cgMemberMetadataKeyVersion:
		rec.metadata = readMemberMetadata(&vr)
	case cgTargetMemberKeyVersion:
		rec.target = readTopicPartitions(&vr)
		skipTags(&vr)
	case cgCurrentAssignmentKeyVersion:
		m := &consumerMember{}
		m.epoch = vr.Int32()
		m.previousEpoch = vr.Int32()
		state := vr.Int8()
		if state < int8(memberStable) || state > int8(memberUnreleasedPartitions) {
			return "", nil, fmt.Errorf("%w: member state %d", ErrCorruptRecord, state)
		}
		m.state = memberState(state)
		m.assigned = readTopicPartitions(&vr)
		m.pendingRevocation = readTopicPartitions(&vr)
		skipTags(&vr)
		rec.current = m
	}
	if err := vr.Complete(); err != nil || len(vr.Src) > 0 {
		if err == nil {
			err = fmt.Errorf("%d bytes left over", len(vr.Src))
		}
		return "", nil, corrupt(fmt.Sprintf("key version %d value for group %q", version, group), err)
	}
	return group, rec, nil
}

func readMemberMetadata(r *kbin.Reader) *consumerMember {
	m := &consumerMember{}
	m.instanceID = r.CompactNullableString()
	m.rackID = r.CompactNullableString()
	m.clientID = r.CompactString()
	m.clientHost = r.CompactString()
	n := r.CompactArrayLen()
	var topics []string
	for i := int32(0); i < n && r.Ok(); i++ {
		topics = append(topics, r.CompactString())
	}
	m.topics = subscribedTopics(topics)
	if re := r.CompactNullableString(); re != nil {
		m.regex = *re
	}
	m.rebalanceTimeout = millis(max(r.Int32(), 0))
	if a := r.CompactNullableString(); a != nil {
		m.assignor = *a
	}
	tags := r.Uvarint()
	for i := uint32(0); i < tags && r.Ok(); i++ {
		tag, size := r.Uvarint(), r.Uvarint()
		data := r.Span(int(size))
		if tag != 0 || !r.Ok() || len(data) == 0 {
			continue
		}
		switch data[0] {
		case 0xff: // null: a consumer-protocol member
			continue
		case 1: // present
			data = data[1:]
		}
		cr := kbin.Reader{Src: data}
		c := &classicMembership{sessionTimeout: millis(max(cr.Int32(), 0))}
		np := cr.CompactArrayLen()
		for j := int32(0); j < np && cr.Ok(); j++ {
			p := protocol{name: cr.CompactString(), metadata: bytes.Clone(cr.CompactBytes())}
			skipTags(&cr)
			c.protocols = append(c.protocols, p)
		}
		skipTags(&cr)
		if cr.Complete() != nil || len(c.protocols) == 0 {
			r.Span(len(r.Src) + 1) // poison the reader: the record is corrupt
			continue
		}
		m.classic = c
	}
	return m
}

func readTopicPartitions(r *kbin.Reader) topicPartitions {
	out := topicPartitions{}
	n := r.CompactArrayLen()
	for i := int32(0); i < n && r.Ok(); i++ {
		id := r.Uuid()
		np := r.CompactArrayLen()
		var ps []int32
		for j := int32(0); j < np && r.Ok(); j++ {
			ps = append(ps, r.Int32())
		}
		skipTags(r)
		slices.Sort(ps)
		ps = slices.Compact(ps)
		if len(ps) > 0 {
			out[id] = append(out[id], ps...)
		}
	}
	return out
}

// skipTags skips a tagged-field section (fields this version does not know).
func skipTags(r *kbin.Reader) {
	n := r.Uvarint()
	for i := uint32(0); i < n && r.Ok(); i++ {
		r.Uvarint()
		r.Span(int(r.Uvarint()))
	}
}

// replayConsumerRecord applies a decoded KIP-848 record.
func (s *shardState) replayConsumerRecord(groupID string, key, value []byte, rec *cgRecord) {
	g := s.groups[groupID]
	if rec.tombstone {
		if g == nil {
			return
		}
		if g.cgLog != nil {
			delete(g.cgLog.records, string(key))
			if len(g.cgLog.records) == 0 {
				g.cgLog = nil
			}
		}
		if cg := g.cg; cg != nil {
			switch rec.keyVersion {
			case cgMetadataKeyVersion:
				g.cg = nil
			case cgMemberMetadataKeyVersion:
				if m := cg.members[rec.member]; m != nil && m.instanceID != nil && cg.static[*m.instanceID] == m.id {
					delete(cg.static, *m.instanceID)
				}
				delete(cg.members, rec.member)
			case cgTargetMemberKeyVersion:
				delete(cg.target, rec.member)
			}
		}
		s.dropIfUnused(g)
		return
	}
	if g == nil {
		g = newGroup(groupID)
		s.groups[g.id] = g
	}
	if g.cg == nil {
		if len(g.members) > 0 {
			g.resetClassic() // a KIP-848 record written after the group's classic days
		}
		g.cg = newConsumerGroup()
	}
	if g.cgLog == nil {
		g.cgLog = &cgLog{records: make(map[string][]byte)}
	}
	g.cgLog.records[string(key)] = bytes.Clone(value) // the loader reuses its buffers
	cg := g.cg
	member := func() *consumerMember {
		m := cg.members[rec.member]
		if m == nil {
			m = newConsumerMember(rec.member)
			cg.members[m.id] = m
		}
		return m
	}
	switch rec.keyVersion {
	case cgMetadataKeyVersion:
		cg.epoch = rec.epoch
		cg.loadedHash, cg.loadedHashKnown = rec.hash, rec.hashKnown
	case cgTargetMetadataKeyVersion:
		cg.assignmentEpoch = rec.epoch
	case cgMemberMetadataKeyVersion:
		m, md := member(), rec.metadata
		m.instanceID, m.rackID, m.clientID, m.clientHost = md.instanceID, md.rackID, md.clientID, md.clientHost
		m.topics, m.regex, m.rebalanceTimeout, m.assignor, m.classic = md.topics, md.regex, md.rebalanceTimeout, md.assignor, md.classic
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
	case cgTargetMemberKeyVersion:
		cg.target[rec.member] = rec.target
	case cgCurrentAssignmentKeyVersion:
		m, cur := member(), rec.current
		m.epoch, m.previousEpoch, m.state = cur.epoch, cur.previousEpoch, cur.state
		m.assigned, m.pendingRevocation = cur.assigned, cur.pendingRevocation
	}
}

// loadConsumerGroup readies a replayed KIP-848 group: ownership, static ids
// and the subscription fingerprint are rebuilt, and every member gets a full
// session (and revocation timeout) to heartbeat again at the epoch it had.
func (s *shardState) loadConsumerGroup(now time.Time, g *group) {
	cg := g.cg
	session, _ := s.consumerTimeouts(g.id)
	clear(cg.owners)
	clear(cg.static)
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		if m.topics == nil {
			m.topics = []string{}
		}
		cg.takeOwnership(m)
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
		m.sessionDeadline = now.Add(session)
		if m.classic != nil {
			m.sessionDeadline = now.Add(m.classic.sessionTimeout)
		}
		if m.state == memberUnrevokedPartitions {
			m.revokeDeadline = now.Add(m.rebalanceTimeout)
		}
	}
	cg.unionValid = false
	cg.assignor = cg.chooseAssignor()
	// Topics that changed while the group was not loaded (or a regex not
	// yet matched again) make the first heartbeat compute a new target.
	cg.metadataHash = s.subscriptionHash(cg)
	if cg.loadedHashKnown && fingerprintHash(cg.metadataHash) != cg.loadedHash {
		cg.metadataHash = ""
	}
	log := g.cgLog
	log.epoch, log.assignmentEpoch = cg.epoch, cg.assignmentEpoch
	log.members = make(map[string]bool, len(cg.members))
	for id := range cg.members {
		log.members[id] = true
	}
}

// The request steps that can change a KIP-848 group persist it afterwards.

func (s *shardState) consumerGroupHeartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, client ClientInfo, fx *effects) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := s.consumerGroupHeartbeatStep(now, req, client, fx)
	touched := req.MemberID
	if resp.MemberID != nil {
		touched = *resp.MemberID
	}
	s.persistConsumerGroup(s.groups[req.Group], fx, touched)
	return resp
}

func (s *shardState) joinGroup(now time.Time, req *kmsg.JoinGroupRequest, client ClientInfo, w waiterID, fx *effects) *kmsg.JoinGroupResponse {
	resp := s.joinGroupStep(now, req, client, w, fx)
	touched := req.MemberID
	if resp != nil && resp.MemberID != "" {
		touched = resp.MemberID
	}
	s.persistConsumerGroup(s.groups[req.Group], fx, touched)
	return resp
}

func (s *shardState) syncGroup(now time.Time, req *kmsg.SyncGroupRequest, w waiterID, fx *effects) *kmsg.SyncGroupResponse {
	resp := s.syncGroupStep(now, req, w, fx)
	s.persistConsumerGroup(s.groups[req.Group], fx, req.MemberID)
	return resp
}

func (s *shardState) leaveGroup(now time.Time, req *kmsg.LeaveGroupRequest, fx *effects) *kmsg.LeaveGroupResponse {
	resp := s.leaveGroupStep(now, req, fx)
	s.persistConsumerGroup(s.groups[req.Group], fx)
	return resp
}
