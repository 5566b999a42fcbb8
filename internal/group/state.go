package group

import (
	"bytes"
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// shardState is the deterministic core of one coordinator shard: every group
// whose id maps to one __consumer_offsets partition. Its methods take the
// current time, change state, and append to an effects value the records to
// persist and the answers owed to parked JoinGroup/SyncGroup calls. They never
// block, lock, read a clock or do IO; the runtime (runtime.go) does that.
type shardState struct {
	cfg   *Config
	newID func() string // random part of generated member ids

	groups map[string]*group
	// pending holds transactional offset commits (TxnOffsetCommit) by
	// producer id until that producer's marker commits or drops them.
	pending map[int64]pendingOffsets

	// nextRetentionCheck is when expired offsets are next looked for.
	nextRetentionCheck time.Time
}

func newShardState(cfg *Config, newID func() string) *shardState {
	return &shardState{cfg: cfg, newID: newID, groups: make(map[string]*group), pending: make(map[int64]pendingOffsets)}
}

// waiterID names a parked JoinGroup or SyncGroup call; the runtime maps it to
// the goroutine waiting for the answer. Zero means "nobody is waiting".
type waiterID uint64

// reply is an answer for a parked call.
type reply struct {
	waiter waiterID
	resp   kmsg.Response
}

// effects collects what one step of the core asks the runtime to do: append
// records (as one batch, before any reply is released) and answer parked calls.
type effects struct {
	records []KV
	// txn makes records one transactional batch of a producer, or (marker
	// set, no records) that producer's transaction marker.
	txn     *txnWrite
	replies []reply
	// conversions are groups that changed protocol in this step, for the
	// runtime to log.
	conversions []conversion
}

// conversion is a group that moved between the classic and KIP-848
// protocols while it had members.
type conversion struct {
	group   string
	to      string // "consumer" or "classic"
	members int
}

func (fx *effects) answer(w waiterID, resp kmsg.Response) {
	if w != 0 {
		fx.replies = append(fx.replies, reply{waiter: w, resp: resp})
	}
}

// groupState is a classic group's state (Kafka's GroupState names).
type groupState uint8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// protocol is one assignment protocol a classic member supports.
type protocol struct {
	name     string
	metadata []byte
}

// member is a classic group member.
type member struct {
	id           string
	instanceID   *string // static membership (KIP-345)
	clientID     string
	clientHost   string
	protocolType string
	protocols    []protocol // in the member's order of preference

	rebalanceTimeout time.Duration
	sessionTimeout   time.Duration

	assignment []byte // from the leader's last SyncGroup

	// joinWaiter/syncWaiter are the member's parked JoinGroup/SyncGroup, and
	// the request versions their answers must carry.
	joinWaiter  waiterID
	joinVersion int16
	syncWaiter  waiterID
	syncVersion int16

	// isNew is set until the member's first JoinGroup completes; a new
	// member is expired by its heartbeat deadline even while joining.
	isNew             bool
	heartbeatDeadline time.Time

	seq uint64 // join order; the order members are listed and leaders picked in
}

func (m *member) awaitingJoin() bool { return m.joinWaiter != 0 }
func (m *member) awaitingSync() bool { return m.syncWaiter != 0 }

// heartbeatWatched reports whether the session deadline applies now: members
// parked in a rebalance satisfy their heartbeats, except new members.
func (m *member) heartbeatWatched() bool {
	return m.isNew || !(m.awaitingJoin() || m.awaitingSync())
}

// matches reports whether protocols equal the member's, names and metadata in
// order (Kafka's MemberMetadata.matches).
func (m *member) matches(protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i, p := range protocols {
		if p.Name != m.protocols[i].name || !bytes.Equal(p.Metadata, m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

func protocolsFrom(req []kmsg.JoinGroupRequestProtocol) []protocol {
	ps := make([]protocol, len(req))
	for i, p := range req {
		ps[i] = protocol{name: p.Name, metadata: p.Metadata}
	}
	return ps
}

// group is one group: classic state, its committed offsets, and, for a group
// using the KIP-848 protocol, the consumer-group state in cg.
type group struct {
	id string

	state        groupState
	protocolType string
	protocol     string // selected protocol; "" when none
	generation   int32
	leader       string
	members      map[string]*member
	nextSeq      uint64

	// pending holds member ids handed out with MEMBER_ID_REQUIRED that have
	// not joined yet, with the time they expire.
	pending map[string]time.Time
	// static maps group.instance.id to the member id currently holding it.
	static map[string]string
	// pendingSync holds members that got a JoinGroup answer but have not sent
	// SyncGroup; they are removed at syncDeadline.
	pendingSync  map[string]struct{}
	syncDeadline time.Time

	// stateSince is Kafka's currentStateTimestamp; zero when unknown.
	stateSince time.Time

	// rebalanceDeadline is when PreparingRebalance completes even if not
	// every member rejoined. While inInitialDelay it is the end of the
	// current group.initial.rebalance.delay.ms window instead.
	rebalanceDeadline time.Time
	inInitialDelay    bool
	initialDelay      time.Duration // length of the current window
	initialRemaining  time.Duration // how much the delay may still be extended
	newMemberAdded    bool          // a member joined during the current window

	// subscribed is the union of the members' subscribed topics when the
	// group uses the "consumer" protocol type and every subscription parsed;
	// subscribedKnown is false otherwise (Kafka then assumes "subscribed").
	subscribed      map[string]struct{}
	subscribedKnown bool

	// hasMetadata is set once a GroupMetadata record exists for the group, so
	// deleting it needs a tombstone.
	hasMetadata bool

	offsets map[string]map[int32]*committedOffset

	cg *consumerGroup // non-nil: the group uses the KIP-848 protocol
	// cgLog is what __consumer_offsets holds of the group's KIP-848
	// records (consumer_records.go); it outlives cg so a group that turns
	// classic can tombstone them.
	cgLog *cgLog
}

// newGroup makes an empty classic group. Strings kept in state are cloned from
// requests, in case a decoder aliased them to a reused buffer.
func newGroup(id string) *group {
	return &group{
		id:          strings.Clone(id),
		members:     make(map[string]*member),
		pending:     make(map[string]time.Time),
		static:      make(map[string]string),
		pendingSync: make(map[string]struct{}),
		offsets:     make(map[string]map[int32]*committedOffset),
	}
}

// resetClassic forgets classic membership, keeping offsets (and which
// records need tombstones); used when a group switches protocol.
func (g *group) resetClassic() {
	offsets, hasMetadata, log := g.offsets, g.hasMetadata, g.cgLog
	*g = *newGroup(g.id)
	g.offsets, g.hasMetadata, g.cgLog = offsets, hasMetadata, log
}

func (g *group) transition(now time.Time, s groupState) {
	g.state = s
	g.stateSince = now
}

func (g *group) membersInOrder() []*member {
	ms := slices.Collect(maps.Values(g.members))
	slices.SortFunc(ms, func(a, b *member) int { return cmp.Compare(a.seq, b.seq) })
	return ms
}

func (g *group) numAwaitingJoin() int {
	n := 0
	for _, m := range g.members {
		if m.awaitingJoin() {
			n++
		}
	}
	return n
}

// addMember adds m (GroupMetadata.add): the first member fixes the protocol
// type and becomes leader.
func (g *group) addMember(m *member) {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
	g.nextSeq++
	m.seq = g.nextSeq
	g.members[m.id] = m
	delete(g.pending, m.id)
}

// removeMember drops a member (GroupMetadata.remove); if it led, the oldest
// remaining member leads.
func (g *group) removeMember(id string) {
	if m, ok := g.members[id]; ok {
		delete(g.members, id)
		if m.instanceID != nil && g.static[*m.instanceID] == id {
			delete(g.static, *m.instanceID)
		}
	}
	if g.leader == id {
		g.leader = ""
		if ms := g.membersInOrder(); len(ms) > 0 {
			g.leader = ms[0].id
		}
	}
	delete(g.pending, id)
	delete(g.pendingSync, id)
}

// supportsProtocols is GroupMetadata.supportsProtocols: an empty group takes
// any non-empty type and protocol list; otherwise the type must match and one
// protocol must be supported by every member.
func (g *group) supportsProtocols(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if g.state == stateEmpty {
		return protocolType != "" && len(protocols) > 0
	}
	if g.protocolType != protocolType {
		return false
	}
	counts := g.protocolCounts()
	for _, p := range protocols {
		if counts[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

func (g *group) protocolCounts() map[string]int {
	counts := make(map[string]int)
	for _, m := range g.members {
		seen := make(map[string]bool, len(m.protocols))
		for _, p := range m.protocols {
			if !seen[p.name] {
				seen[p.name] = true
				counts[p.name]++
			}
		}
	}
	return counts
}

// selectProtocol lets every member vote for its most preferred protocol among
// those all members support; the most votes win, ties going to the protocol
// voted for first in join order. It returns "" when nothing is common.
func (g *group) selectProtocol() string {
	counts := g.protocolCounts()
	votes := make(map[string]int)
	var order []string
	for _, m := range g.membersInOrder() {
		for _, p := range m.protocols {
			if counts[p.name] == len(g.members) {
				if votes[p.name] == 0 {
					order = append(order, p.name)
				}
				votes[p.name]++
				break
			}
		}
	}
	best := ""
	for _, name := range order {
		if best == "" || votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

// hasAllMembersJoined: every member is parked in JoinGroup and no member id
// handed out with MEMBER_ID_REQUIRED is outstanding.
func (g *group) hasAllMembersJoined() bool {
	return len(g.members) == g.numAwaitingJoin() && len(g.pending) == 0
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// currentMemberMetadata lists every member with its metadata for the selected
// protocol; only the leader receives it.
func (g *group) currentMemberMetadata() []kmsg.JoinGroupResponseMember {
	ms := g.membersInOrder()
	out := make([]kmsg.JoinGroupResponseMember, 0, len(ms))
	for _, m := range ms {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.InstanceID = m.instanceID
		jm.ProtocolMetadata = m.metadataFor(g.protocol)
		out = append(out, jm)
	}
	return out
}

// computeSubscribedTopics parses every member's consumer-protocol metadata.
func (g *group) computeSubscribedTopics() {
	g.subscribed, g.subscribedKnown = nil, false
	if g.protocolType != consumerProtocolType {
		return
	}
	if len(g.members) == 0 {
		g.subscribed, g.subscribedKnown = map[string]struct{}{}, true
		return
	}
	if g.protocol == "" {
		return
	}
	topics := make(map[string]struct{})
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return
		}
		for _, t := range meta.Topics {
			topics[t] = struct{}{}
		}
	}
	g.subscribed, g.subscribedKnown = topics, true
}

// isSubscribedTo reports whether a member of the group consumes topic; unknown
// subscriptions count as subscribed, as in Kafka.
func (g *group) isSubscribedTo(topic string) bool {
	if g.cg != nil {
		return g.cg.isSubscribedTo(topic)
	}
	if !g.subscribedKnown {
		return true
	}
	_, ok := g.subscribed[topic]
	return ok
}

// nextDeadline is the earliest time a timer of the group fires; zero if none.
func (g *group) nextDeadline() time.Time {
	var d time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if g.cg != nil {
		g.cg.considerDeadlines(consider)
		return d
	}
	for _, t := range g.pending {
		consider(t)
	}
	for _, m := range g.members {
		if m.heartbeatWatched() {
			consider(m.heartbeatDeadline)
		}
	}
	if g.state == statePreparingRebalance {
		consider(g.rebalanceDeadline)
	}
	if (g.state == stateCompletingRebalance || g.state == stateStable) && len(g.pendingSync) > 0 {
		consider(g.syncDeadline)
	}
	return d
}

// removable reports whether the group holds nothing worth keeping.
func (g *group) removable() bool {
	if g.cg != nil {
		return len(g.cg.members) == 0 && len(g.offsets) == 0
	}
	return g.state == stateEmpty && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0
}

// sortedGroups returns the shard's groups ordered by id, so every walk over
// the shard produces records in a reproducible order.
func (s *shardState) sortedGroups() []*group {
	gs := slices.Collect(maps.Values(s.groups))
	slices.SortFunc(gs, func(a, b *group) int { return cmp.Compare(a.id, b.id) })
	return gs
}

// nextDeadline is the earliest time tick has work to do.
func (s *shardState) nextDeadline() time.Time {
	d := s.nextRetentionCheck
	for _, g := range s.groups {
		if t := g.nextDeadline(); !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// tick fires every timer that is due: session and rebalance timeouts, the
// initial rebalance delay, pending-sync expiry and offset retention.
func (s *shardState) tick(now time.Time, fx *effects) {
	for _, g := range s.sortedGroups() {
		if t := g.nextDeadline(); !t.IsZero() && !now.Before(t) {
			s.runGroupTimers(now, g, fx)
		}
	}
	if s.nextRetentionCheck.IsZero() {
		s.nextRetentionCheck = now.Add(s.cfg.OffsetsRetentionCheckInterval)
	} else if !now.Before(s.nextRetentionCheck) {
		s.expireOffsets(now, fx)
		s.nextRetentionCheck = now.Add(s.cfg.OffsetsRetentionCheckInterval)
	}
}

// runGroupTimers fires the group's due timers. Firing one can make another
// due at once (a zero initial delay), so it repeats a few times.
func (s *shardState) runGroupTimers(now time.Time, g *group, fx *effects) {
	for range 8 {
		var fired bool
		if g.cg != nil {
			fired = s.consumerTimers(now, g, fx)
		} else {
			fired = s.classicTimers(now, g, fx)
		}
		if !fired {
			break
		}
	}
	s.persistConsumerGroup(g, fx)
}

// durationMillis converts d to whole milliseconds for an int32 wire field.
func durationMillis(d time.Duration) int32 {
	return int32(min(d.Milliseconds(), math.MaxInt32))
}

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// consumerProtocolType is the protocol type of Kafka consumers, the only one
// whose metadata the coordinator parses.
const consumerProtocolType = "consumer"
