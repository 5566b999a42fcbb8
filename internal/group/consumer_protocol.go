package group

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KIP-848 member epochs with a special meaning in ConsumerGroupHeartbeat.
const (
	joinEpoch        = 0  // join, or rejoin after being fenced
	leaveEpoch       = -1 // leave the group
	staticLeaveEpoch = -2 // a static member leaves for now, keeping its partitions
)

// regexRefreshInterval is how long a resolved subscription regex is trusted
// before the topic list is matched again.
const regexRefreshInterval = 10 * time.Second

// memberState is a KIP-848 member's reconciliation state (Kafka's MemberState).
type memberState uint8

const (
	// memberStable: the member owns its target assignment at the group's
	// assignment epoch, or is moving to it with nothing to revoke.
	memberStable memberState = iota
	// memberUnrevokedPartitions: the member must first give up partitions
	// it no longer has; its epoch stays until it reports them gone.
	memberUnrevokedPartitions
	// memberUnreleasedPartitions: the member reached the new epoch but some
	// of its target partitions are still held by members revoking them.
	memberUnreleasedPartitions
)

// consumerMember is a member of a KIP-848 group.
type consumerMember struct {
	id         string
	instanceID *string
	rackID     *string
	clientID   string
	clientHost string

	epoch         int32
	previousEpoch int32 // accepted too, in case the answer bumping the epoch was lost
	state         memberState

	rebalanceTimeout time.Duration
	assignor         string   // requested server assignor; "" for the default
	topics           []string // subscribed topic names, sorted
	regex            string   // subscribed topic regex; "" for none

	// classic is set for a member speaking the classic protocol
	// (JoinGroup/SyncGroup) in this group after an online upgrade.
	classic *classicMembership

	assigned          topicPartitions // what the member may consume now
	pendingRevocation topicPartitions // what it must give up before moving on

	sessionDeadline time.Time
	revokeDeadline  time.Time // set while in memberUnrevokedPartitions
}

// consumerGroup is the state of a group using the KIP-848 protocol. Target
// assignments are computed here (server-side assignors); members converge
// to them through their heartbeats.
type consumerGroup struct {
	epoch           int32 // bumped whenever membership, subscriptions or their topics change
	assignmentEpoch int32 // the epoch target was computed at
	assignor        string
	members         map[string]*consumerMember
	static          map[string]string // instance id -> member id
	target          map[string]topicPartitions
	// owners says which member holds each partition, assigned or pending
	// revocation; a partition is only given to a new member once free.
	owners map[partitionKey]string
	// metadataHash fingerprints the subscribed topics (ids and partition
	// counts) at the last target computation; a change triggers a new one.
	metadataHash string
	regexes      map[string]*resolvedRegex
	// loadedHash is the metadata hash replay found (loadedHashKnown: the
	// record had one), compared with the topics when the group is loaded.
	loadedHash      int64
	loadedHashKnown bool

	// union caches every member's subscribed topics, sorted; unionValid is
	// cleared whenever a subscription or a regex's matches change.
	union      []string
	unionValid bool
}

type partitionKey struct {
	topic     [16]byte
	partition int32
}

type resolvedRegex struct {
	topics     []string
	resolvedAt time.Time
	// mayDescribe is the authorization of the member whose heartbeat first
	// resolved it; refreshes reuse it.
	mayDescribe func(topic string) bool
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{
		members: make(map[string]*consumerMember),
		static:  make(map[string]string),
		target:  make(map[string]topicPartitions),
		owners:  make(map[partitionKey]string),
		regexes: make(map[string]*resolvedRegex),
	}
}

// consumerGroupHeartbeat handles ConsumerGroupHeartbeat: join (epoch 0),
// heartbeat, or leave (-1, -2 static). Joining or changing subscriptions bumps
// the group epoch and recomputes the target assignment; the member is then
// reconciled towards its target, revoking before anything moves.
// consumerTimeouts are a KIP-848 group's session timeout and heartbeat
// interval: its group configs, else the broker's.
func (s *shardState) consumerTimeouts(groupID string) (session, heartbeat time.Duration) {
	if s.cfg.ConsumerTimeouts != nil {
		return s.cfg.ConsumerTimeouts(groupID)
	}
	return s.cfg.ConsumerSessionTimeout, s.cfg.ConsumerHeartbeatInterval
}

func (s *shardState) consumerGroupHeartbeatStep(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, client ClientInfo, fx *effects) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = req.Version
	if code, msg := validateConsumerHeartbeat(req); code != 0 {
		return heartbeatFailure(resp, code, msg)
	}
	if req.MemberEpoch == leaveEpoch || req.MemberEpoch == staticLeaveEpoch {
		return s.consumerLeave(now, req, resp, fx)
	}

	g := s.groups[req.Group]
	switch {
	case g == nil && req.MemberEpoch != joinEpoch:
		// Only joins create groups. (Membership is not persisted, so after a
		// restart members hear this and join again.)
		return heartbeatFailure(resp, kerr.UnknownMemberID.Code, fmt.Sprintf("Member %s is not a member of group %s.", req.MemberID, req.Group))
	case g == nil:
		g = newGroup(req.Group)
		g.cg = newConsumerGroup()
		s.groups[g.id] = g
	case g.cg == nil && (len(g.members) > 0 || len(g.pending) > 0):
		if req.MemberEpoch != joinEpoch {
			return heartbeatFailure(resp, kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s is not a consumer group.", req.Group))
		}
		// A classic group with members upgrades online (migration.go).
		if code, msg := s.upgradeToConsumerGroup(now, g, fx); code != 0 {
			return heartbeatFailure(resp, code, msg)
		}
	case g.cg == nil:
		if req.MemberEpoch != joinEpoch {
			return heartbeatFailure(resp, kerr.UnknownMemberID.Code, fmt.Sprintf("Member %s is not a member of group %s.", req.MemberID, req.Group))
		}
		g.resetClassic() // an empty classic group (offsets only) upgrades
		g.cg = newConsumerGroup()
	}
	cg := g.cg

	memberID := req.MemberID
	if memberID == "" {
		memberID = s.newID() // v0: the coordinator names members
	}
	if s.cfg.MaxGroupSize > 0 && len(cg.members) >= s.cfg.MaxGroupSize && cg.members[memberID] == nil {
		return heartbeatFailure(resp, kerr.GroupMaxSizeReached.Code,
			fmt.Sprintf("The consumer group has reached its maximum capacity of %d members.", s.cfg.MaxGroupSize))
	}
	m, isNew, code, msg := cg.memberForHeartbeat(memberID, req)
	if code != 0 {
		return heartbeatFailure(resp, code, msg)
	}
	if m.classic != nil {
		if req.MemberEpoch != joinEpoch {
			return heartbeatFailure(resp, kerr.UnknownMemberID.Code, fmt.Sprintf("Member %s is not a member of the group.", memberID))
		}
		m.classic = nil // a classic member rejoining with the consumer protocol
	}
	assignedBefore := m.assigned
	oldInstance := m.instanceID
	subscriptionChanged := m.applyHeartbeat(req, client)
	if isNew {
		cg.members[m.id] = m
	}
	if m.instanceID != nil && (oldInstance == nil || *oldInstance != *m.instanceID || isNew) {
		if oldInstance != nil && cg.static[*oldInstance] == m.id {
			delete(cg.static, *oldInstance)
		}
		cg.static[*m.instanceID] = m.id
	}
	if subscriptionChanged || isNew {
		cg.unionValid = false
	}

	s.refreshRegexes(now, cg, false, client.MayDescribeTopic)
	hash := s.subscriptionHash(cg)
	if subscriptionChanged || cg.epoch == 0 || hash != cg.metadataHash {
		cg.epoch++
	}
	if cg.epoch > cg.assignmentEpoch {
		s.computeTargetAssignment(cg, hash)
	}
	s.reconcile(now, cg, m, req.Topics, subscriptionChanged)
	sessionTimeout, heartbeatInterval := s.consumerTimeouts(req.Group)
	m.sessionDeadline = now.Add(sessionTimeout)

	resp.MemberID = new(m.id)
	resp.MemberEpoch = m.epoch
	resp.HeartbeatIntervalMillis = durationMillis(heartbeatInterval)
	// The assignment goes out on joins, on full requests (a client
	// recovering from an error sends one) and whenever it changed.
	full := req.RebalanceTimeoutMillis != -1 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil
	if req.MemberEpoch == joinEpoch || full || !equalPartitions(assignedBefore, m.assigned) {
		resp.Assignment = heartbeatAssignment(m.assigned)
	}
	return resp
}

func heartbeatFailure(resp *kmsg.ConsumerGroupHeartbeatResponse, code int16, msg string) *kmsg.ConsumerGroupHeartbeatResponse {
	resp.ErrorCode = code
	if msg != "" {
		resp.ErrorMessage = new(msg)
	}
	return resp
}

// validateConsumerHeartbeat checks the request on its own, as Kafka's
// throwIfConsumerGroupHeartbeatRequestIsInvalid does.
func validateConsumerHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) (int16, string) {
	invalid := kerr.InvalidRequest.Code
	switch {
	case req.Group == "":
		return invalid, "GroupId can't be empty."
	case req.InstanceID != nil && *req.InstanceID == "":
		return invalid, "InstanceId can't be empty."
	case req.RackID != nil && *req.RackID == "":
		return invalid, "RackId can't be empty."
	case req.MemberID == "" && (req.Version >= 1 || req.MemberEpoch != joinEpoch):
		return invalid, "MemberId can't be empty."
	}
	switch {
	case req.MemberEpoch == joinEpoch:
		switch {
		case req.RebalanceTimeoutMillis == -1:
			return invalid, "RebalanceTimeoutMs must be provided in first request."
		case req.Topics == nil || len(req.Topics) > 0:
			return invalid, "TopicPartitions must be empty when (re-)joining."
		case req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
			return invalid, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."
		}
	case req.MemberEpoch == staticLeaveEpoch:
		if req.InstanceID == nil {
			return invalid, "InstanceId can't be null."
		}
	case req.MemberEpoch < staticLeaveEpoch:
		return invalid, "MemberEpoch is invalid."
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := regexp.Compile(*req.SubscribedTopicRegex); err != nil {
			return kerr.InvalidRegularExpression.Code, fmt.Sprintf("SubscribedTopicRegex `%s` is not a valid regular expression: %v.", *req.SubscribedTopicRegex, err)
		}
	}
	if req.ServerAssignor != nil && *req.ServerAssignor != "" && !supportedAssignor(*req.ServerAssignor) {
		return kerr.UnsupportedAssignor.Code, fmt.Sprintf("ServerAssignor %s is not supported. Supported assignors: %s, %s.",
			*req.ServerAssignor, assignorUniform, assignorRange)
	}
	return 0, ""
}

// memberForHeartbeat finds the member a heartbeat is for, or creates it on a
// join. A static member rejoining under a new member id takes over the old
// one's place if that one left with epoch -2.
func (cg *consumerGroup) memberForHeartbeat(memberID string, req *kmsg.ConsumerGroupHeartbeatRequest) (m *consumerMember, isNew bool, code int16, msg string) {
	if req.InstanceID == nil {
		m = cg.members[memberID]
		if req.MemberEpoch == joinEpoch {
			if m == nil {
				return newConsumerMember(strings.Clone(memberID)), true, 0, ""
			}
			return m, false, 0, "" // rejoin in place after being fenced
		}
		if m == nil {
			return nil, false, kerr.UnknownMemberID.Code, fmt.Sprintf("Member %s is not a member of the group.", memberID)
		}
		code, msg = m.checkEpoch(req.MemberEpoch, req.Topics)
		return m, false, code, msg
	}

	instance := *req.InstanceID
	var existing *consumerMember
	if id, ok := cg.static[instance]; ok {
		existing = cg.members[id]
	}
	if req.MemberEpoch == joinEpoch {
		switch {
		case existing == nil:
			if m = cg.members[memberID]; m != nil {
				return m, false, 0, ""
			}
			return newConsumerMember(strings.Clone(memberID)), true, 0, ""
		case existing.id == memberID:
			return existing, false, 0, ""
		case existing.classic != nil:
			// A consumer-protocol member takes over a classic static
			// member's instance id, partitions included.
			return cg.replaceStaticMember(existing, strings.Clone(memberID)), false, 0, ""
		case existing.epoch != staticLeaveEpoch:
			return nil, false, kerr.UnreleasedInstanceID.Code, fmt.Sprintf(
				"Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.",
				memberID, instance, existing.id)
		default:
			return cg.replaceStaticMember(existing, strings.Clone(memberID)), false, 0, ""
		}
	}
	switch {
	case existing == nil:
		return nil, false, kerr.UnknownMemberID.Code, fmt.Sprintf("Instance id %s is unknown.", instance)
	case existing.id != memberID:
		return nil, false, kerr.FencedInstanceID.Code, fmt.Sprintf(
			"Static member %s with instance id %s was fenced by member %s.", memberID, instance, existing.id)
	}
	code, msg = existing.checkEpoch(req.MemberEpoch, req.Topics)
	return existing, false, code, msg
}

func newConsumerMember(id string) *consumerMember {
	return &consumerMember{id: id, assigned: topicPartitions{}, pendingRevocation: topicPartitions{}}
}

// replaceStaticMember moves a static member that left with epoch -2 to its
// new member id, keeping its partitions, epoch and target.
func (cg *consumerGroup) replaceStaticMember(old *consumerMember, newID string) *consumerMember {
	m := *old
	m.id = newID
	m.epoch = old.previousEpoch
	for k, id := range cg.owners {
		if id == old.id {
			cg.owners[k] = newID
		}
	}
	if t, ok := cg.target[old.id]; ok {
		cg.target[newID] = t
		delete(cg.target, old.id)
	}
	delete(cg.members, old.id)
	cg.members[newID] = &m
	cg.static[*old.instanceID] = newID
	return &m
}

// checkEpoch fences a member whose epoch is not the current one, unless it is
// the previous one and the member owns nothing it should not: the answer that
// bumped its epoch may have been lost.
func (m *consumerMember) checkEpoch(received int32, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) (int16, string) {
	if received > m.epoch || (received < m.epoch && (received != m.previousEpoch || !ownsSubsetOf(owned, m.assigned))) {
		return kerr.FencedMemberEpoch.Code, fmt.Sprintf(
			"The consumer group member has a member epoch (%d) that is not the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.",
			received, m.epoch)
	}
	return 0, ""
}

// applyHeartbeat takes the fields the request set (nil means unchanged) and
// reports whether the subscription changed.
func (m *consumerMember) applyHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, client ClientInfo) bool {
	changed := false
	if req.InstanceID != nil {
		m.instanceID = new(strings.Clone(*req.InstanceID))
	}
	if req.RackID != nil {
		m.rackID = new(strings.Clone(*req.RackID))
	}
	if req.RebalanceTimeoutMillis >= 0 {
		m.rebalanceTimeout = millis(req.RebalanceTimeoutMillis)
	}
	if req.ServerAssignor != nil {
		m.assignor = strings.Clone(*req.ServerAssignor)
	}
	if req.SubscribedTopicNames != nil {
		topics := slices.Compact(slices.Sorted(slices.Values(req.SubscribedTopicNames)))
		if !slices.Equal(topics, m.topics) {
			for i := range topics {
				topics[i] = strings.Clone(topics[i])
			}
			m.topics, changed = topics, true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regex {
		m.regex, changed = strings.Clone(*req.SubscribedTopicRegex), true
	}
	m.clientID, m.clientHost = client.ClientID, client.ClientHost
	return changed
}

// consumerLeave handles epoch -1 (leave) and -2 (a static member leaving for
// now: it keeps its partitions until its session expires or it returns).
func (s *shardState) consumerLeave(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse, fx *effects) *kmsg.ConsumerGroupHeartbeatResponse {
	g := s.groups[req.Group]
	if g == nil {
		return heartbeatFailure(resp, kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s not found.", req.Group))
	}
	if g.cg == nil {
		return heartbeatFailure(resp, kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s is not a consumer group.", req.Group))
	}
	cg := g.cg
	var m *consumerMember
	if req.InstanceID != nil {
		if id, ok := cg.static[*req.InstanceID]; ok {
			m = cg.members[id]
		}
		switch {
		case m == nil:
			return heartbeatFailure(resp, kerr.UnknownMemberID.Code, fmt.Sprintf("Instance id %s is unknown.", *req.InstanceID))
		case m.id != req.MemberID:
			return heartbeatFailure(resp, kerr.FencedInstanceID.Code, fmt.Sprintf(
				"Static member %s with instance id %s was fenced by member %s.", req.MemberID, *req.InstanceID, m.id))
		}
	} else if m = cg.members[req.MemberID]; m == nil || m.classic != nil {
		return heartbeatFailure(resp, kerr.UnknownMemberID.Code, fmt.Sprintf("Member %s is not a member of the group.", req.MemberID))
	}
	if req.MemberEpoch == staticLeaveEpoch {
		m.previousEpoch, m.epoch = m.epoch, staticLeaveEpoch
	} else {
		s.fenceConsumerMember(now, g, m, fx)
	}
	resp.MemberID = new(req.MemberID)
	resp.MemberEpoch = req.MemberEpoch
	return resp
}

// removeConsumerMember fences a member (leave, session or revocation timeout):
// its partitions are freed and the target assignment is recomputed.
func (s *shardState) removeConsumerMember(now time.Time, cg *consumerGroup, m *consumerMember) {
	cg.releaseOwnership(m)
	delete(cg.members, m.id)
	if m.instanceID != nil && cg.static[*m.instanceID] == m.id {
		delete(cg.static, *m.instanceID)
	}
	delete(cg.target, m.id)
	cg.unionValid = false
	cg.epoch++
	s.refreshRegexes(now, cg, false, nil)
	s.computeTargetAssignment(cg, s.subscriptionHash(cg))
}

// consumerTimers fences members whose session, revocation or (classic
// members) rejoin or sync deadline passed.
func (s *shardState) consumerTimers(now time.Time, g *group, fx *effects) bool {
	fired := false
	due := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	for _, id := range slices.Sorted(maps.Keys(g.cg.members)) {
		m := g.cg.members[id]
		expired := due(m.sessionDeadline) || due(m.revokeDeadline)
		if m.classic != nil {
			expired = expired || due(m.classic.joinDeadline) || due(m.classic.syncDeadline)
		}
		if expired {
			s.fenceConsumerMember(now, g, m, fx)
			fired = true
			if g.cg == nil {
				return true // downgraded: the classic timers take over
			}
		}
	}
	return fired
}

func (cg *consumerGroup) considerDeadlines(consider func(time.Time)) {
	for _, m := range cg.members {
		consider(m.sessionDeadline)
		consider(m.revokeDeadline)
		if m.classic != nil {
			consider(m.classic.joinDeadline)
			consider(m.classic.syncDeadline)
		}
	}
}

// subscribedNames is the member's topic names plus its regex's matches.
func (cg *consumerGroup) subscribedNames(m *consumerMember) []string {
	names := m.topics
	if m.regex != "" {
		if r := cg.regexes[m.regex]; r != nil && len(r.topics) > 0 {
			names = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(names), r.topics...))))
		}
	}
	return names
}

// subscribedUnion is every topic some member subscribes to, sorted.
func (cg *consumerGroup) subscribedUnion() []string {
	if !cg.unionValid {
		names := make(map[string]bool)
		for _, m := range cg.members {
			for _, t := range cg.subscribedNames(m) {
				names[t] = true
			}
		}
		cg.union = slices.Sorted(maps.Keys(names))
		cg.unionValid = true
	}
	return cg.union
}

func (cg *consumerGroup) isSubscribedTo(topic string) bool {
	_, found := slices.BinarySearch(cg.subscribedUnion(), topic)
	return found
}

// refreshRegexes resolves the members' subscription regexes against the topic
// list, again once regexRefreshInterval passed, and forgets unused ones. As
// in Kafka, a regex matches only topics a member may describe: the one whose
// heartbeat first resolved it (mayDescribe; nil: every topic).
func (s *shardState) refreshRegexes(now time.Time, cg *consumerGroup, force bool, mayDescribe func(topic string) bool) {
	used := make(map[string]bool)
	for _, m := range cg.members {
		if m.regex != "" {
			used[m.regex] = true
		}
	}
	for re := range cg.regexes {
		if !used[re] {
			delete(cg.regexes, re)
		}
	}
	for re := range used {
		r := cg.regexes[re]
		if r != nil && !force && now.Sub(r.resolvedAt) < regexRefreshInterval {
			continue
		}
		// A regex keeps the authorization it was first resolved with, so
		// members of different principals heartbeating in turn do not
		// make its matches (and the assignment) flap at each refresh.
		allowed := mayDescribe
		if r != nil && (r.mayDescribe != nil || allowed == nil) {
			allowed = r.mayDescribe
		}
		topics := s.matchTopics(re)
		if allowed != nil {
			topics = slices.DeleteFunc(topics, func(t string) bool { return !allowed(t) })
		}
		if r == nil || !slices.Equal(r.topics, topics) {
			cg.unionValid = false
		}
		cg.regexes[re] = &resolvedRegex{topics: topics, resolvedAt: now, mayDescribe: allowed}
	}
}

// matchTopics lists the topics whose whole name matches re (Kafka uses RE2J,
// whose syntax Go's regexp shares).
func (s *shardState) matchTopics(re string) []string {
	if s.cfg.ListTopics == nil {
		return nil
	}
	compiled, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range s.cfg.ListTopics() {
		if compiled.MatchString(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// subscriptionHash fingerprints every subscribed topic's id and partition
// count, so topic creation, deletion and growth trigger a new assignment.
func (s *shardState) subscriptionHash(cg *consumerGroup) string {
	var b strings.Builder
	for _, name := range cg.subscribedUnion() {
		info, ok := s.lookupTopic(name)
		if !ok {
			continue
		}
		b.WriteString(name)
		b.WriteByte(0)
		b.Write(info.id[:])
		b.WriteString(strconv.Itoa(int(info.partitions)))
		b.WriteByte(0)
	}
	return b.String()
}

func (s *shardState) lookupTopic(name string) (topicInfo, bool) {
	if s.cfg.Topics == nil {
		return topicInfo{}, false
	}
	id, n, ok := s.cfg.Topics(name)
	if !ok || n <= 0 {
		return topicInfo{}, false
	}
	return topicInfo{name: name, id: id, partitions: n}, true
}

// chooseAssignor picks the server assignor most members asked for (ties by
// name), defaulting to uniform.
func (cg *consumerGroup) chooseAssignor() string {
	votes := make(map[string]int)
	for _, m := range cg.members {
		if m.assignor != "" {
			votes[m.assignor]++
		}
	}
	best := assignorUniform
	for _, name := range slices.Sorted(maps.Keys(votes)) {
		if votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

// computeTargetAssignment recomputes every member's target at the group epoch.
func (s *shardState) computeTargetAssignment(cg *consumerGroup, hash string) {
	topics := make(map[string]topicInfo)
	members := make([]assignMember, 0, len(cg.members))
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		am := assignMember{id: id}
		for _, name := range cg.subscribedNames(cg.members[id]) {
			info, ok := topics[name]
			if !ok {
				if info, ok = s.lookupTopic(name); !ok {
					continue
				}
				topics[name] = info
			}
			am.topics = append(am.topics, name)
		}
		members = append(members, am)
	}
	cg.assignor = cg.chooseAssignor()
	if cg.assignor == assignorRange {
		cg.target = assignRange(members, topics)
	} else {
		cg.target = assignUniform(members, topics, cg.target)
	}
	cg.assignmentEpoch = cg.epoch
	cg.metadataHash = hash
}

func heartbeatAssignment(a topicPartitions) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	out := new(kmsg.NewConsumerGroupHeartbeatResponseAssignment())
	out.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, id := range slices.SortedFunc(maps.Keys(a), compareIDs) {
		t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		t.TopicID = id
		t.Partitions = slices.Clone(a[id])
		out.Topics = append(out.Topics, t)
	}
	return out
}

// stateName is the group state ListGroups and ConsumerGroupDescribe report.
func (cg *consumerGroup) stateName() string {
	switch {
	case len(cg.members) == 0:
		return "Empty"
	case cg.epoch > cg.assignmentEpoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if m.epoch == staticLeaveEpoch {
			continue
		}
		if m.state != memberStable || m.epoch != cg.assignmentEpoch {
			return "Reconciling"
		}
	}
	return "Stable"
}

// validateOffsetCommit checks a commit to a KIP-848 group: admin commits
// (epoch < 0) only while the group is empty; members must commit at their
// current epoch, with OffsetCommit v9+.
func (cg *consumerGroup) validateOffsetCommit(memberID string, epoch int32, version int16) int16 {
	if epoch < 0 && len(cg.members) == 0 {
		return 0
	}
	m := cg.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case m.classic != nil:
		// A classic member commits with its generation, the member epoch.
		if epoch != m.epoch {
			return kerr.IllegalGeneration.Code
		}
		return 0
	case version < 9:
		return kerr.UnsupportedVersion.Code
	case epoch != m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// validateOffsetFetch checks a member-scoped OffsetFetch (v9+); requests
// without a member (admin tools) are always accepted.
func (cg *consumerGroup) validateOffsetFetch(memberID *string, epoch int32) int16 {
	if epoch < 0 && (memberID == nil || *memberID == "") {
		return 0
	}
	if memberID == nil {
		return kerr.UnknownMemberID.Code
	}
	m := cg.members[*memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case epoch != m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// consumerGroupDescribe answers one group of ConsumerGroupDescribe.
func (s *shardState) consumerGroupDescribe(id string) kmsg.ConsumerGroupDescribeResponseGroup {
	out := kmsg.NewConsumerGroupDescribeResponseGroup()
	out.Group = id
	g := s.groups[id]
	switch {
	case g == nil:
		out.ErrorCode = kerr.GroupIDNotFound.Code
		out.ErrorMessage = new(fmt.Sprintf("Group %s not found.", id))
		return out
	case g.cg == nil:
		out.ErrorCode = kerr.GroupIDNotFound.Code
		out.ErrorMessage = new(fmt.Sprintf("Group %s is not a consumer group.", id))
		return out
	}
	cg := g.cg
	out.State = cg.stateName()
	out.Epoch = cg.epoch
	out.AssignmentEpoch = cg.assignmentEpoch
	out.AssignorName = cg.assignor
	if out.AssignorName == "" {
		out.AssignorName = cg.chooseAssignor()
	}
	for _, mid := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[mid]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID = m.id
		dm.InstanceID = m.instanceID
		dm.RackID = m.rackID
		dm.MemberEpoch = m.epoch
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		dm.SubscribedTopics = slices.Clone(m.topics)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		if m.regex != "" {
			dm.SubscribedTopicRegex = new(m.regex)
		}
		dm.Assignment = s.describeAssignment(m.assigned)
		dm.TargetAssignment = s.describeAssignment(cg.target[m.id])
		dm.MemberType = 1 // consumer protocol member
		if m.classic != nil {
			dm.MemberType = 0
		}
		out.Members = append(out.Members, dm)
	}
	return out
}

func (s *shardState) describeAssignment(a topicPartitions) kmsg.Assignment {
	out := kmsg.NewAssignment()
	for _, id := range slices.SortedFunc(maps.Keys(a), compareIDs) {
		tp := kmsg.NewAssignmentTopicPartition()
		tp.TopicID = id
		if s.cfg.TopicByID != nil {
			tp.Topic, _ = s.cfg.TopicByID(id)
		}
		tp.Partitions = slices.Clone(a[id])
		out.TopicPartitions = append(out.TopicPartitions, tp)
	}
	return out
}
