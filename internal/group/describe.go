package group

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeGroup answers one group of DescribeGroups. Member metadata and
// assignments are only shown once the group is Stable, as in Kafka.
func (s *shardState) describeGroup(id string, version int16) kmsg.DescribeGroupsResponseGroup {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = id
	g := s.groups[id]
	if g == nil || g.cg != nil {
		// v6 (KIP-1043) reports the error; older versions a Dead group.
		out.State = stateDead.String()
		if version >= 6 {
			out.ErrorCode = kerr.GroupIDNotFound.Code
			msg := fmt.Sprintf("Group %s not found.", id)
			if g != nil {
				msg = fmt.Sprintf("Group %s is not a classic group.", id)
			}
			out.ErrorMessage = &msg
		}
		return out
	}
	out.State = g.state.String()
	out.ProtocolType = g.protocolType
	stable := g.state == stateStable
	if stable {
		out.Protocol = g.protocol
	}
	for _, m := range g.membersInOrder() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID = m.id
		dm.InstanceID = m.instanceID
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		if stable {
			dm.ProtocolMetadata = m.metadataFor(g.protocol)
			dm.MemberAssignment = m.assignment
		}
		out.Members = append(out.Members, dm)
	}
	return out
}

// groupTypeClassic and groupTypeConsumer are ListGroups' type names (KIP-848).
const (
	groupTypeClassic  = "classic"
	groupTypeConsumer = "consumer"
)

// listGroups lists the shard's groups matching the (case-insensitive) state
// and type filters; empty filters match everything.
func (s *shardState) listGroups(states, types []string) []kmsg.ListGroupsResponseGroup {
	var out []kmsg.ListGroupsResponseGroup
	for _, g := range s.sortedGroups() {
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = g.id
		if g.cg != nil {
			lg.ProtocolType = consumerProtocolType
			lg.GroupState = g.cg.stateName()
			lg.GroupType = groupTypeConsumer
		} else {
			lg.ProtocolType = g.protocolType
			lg.GroupState = g.state.String()
			lg.GroupType = groupTypeClassic
		}
		if matchesFilter(states, lg.GroupState) && matchesFilter(types, lg.GroupType) {
			out = append(out, lg)
		}
	}
	return out
}

func matchesFilter(filter []string, value string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if strings.EqualFold(f, value) {
			return true
		}
	}
	return false
}

// deleteGroup handles one group of DeleteGroups: only a group without members
// may go; its offsets and metadata are tombstoned.
func (s *shardState) deleteGroup(id string, fx *effects) int16 {
	g := s.groups[id]
	switch {
	case g == nil:
		return kerr.GroupIDNotFound.Code
	case g.cg != nil && len(g.cg.members) > 0,
		g.cg == nil && g.state != stateEmpty:
		return kerr.NonEmptyGroup.Code
	}
	s.removeOffsets(id, func(string, int32) bool { return true }, fx)
	fx.records = append(fx.records, groupTombstone(id))
	s.dropConsumerRecords(g, fx)
	delete(s.groups, id)
	return 0
}
