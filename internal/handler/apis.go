package handler

// apiTable lists every API Samsa serves with its version range. It is the
// single source for dispatch and for the ApiVersions response.
//
// Minimum versions stay at Kafka 3.x floors so older clients (sarama's 2.1
// protocol, brod's JoinGroup v0/v1) keep working. A maximum is raised only
// when that version's semantics are implemented (protocol-pitfalls.md §4):
// ListOffsets stops at 10 because 11 is tiered storage's, and so on.
func (h *Handler) apiTable() []api {
	return []api{
		{key: 0, min: 0, max: 13, handle: h.handleProduce},
		{key: 1, min: 4, max: 18, handle: h.handleFetch},
		{key: 2, min: 0, max: 10, handle: h.handleListOffsets},
		{key: 3, min: 0, max: 13, handle: h.handleMetadata},
		{key: 8, min: 0, max: 10, handle: h.handleOffsetCommit},
		{key: 9, min: 0, max: 10, handle: h.handleOffsetFetch},
		{key: 10, min: 0, max: 6, handle: h.handleFindCoordinator},
		{key: 11, min: 0, max: 9, handle: h.handleJoinGroup},
		{key: 12, min: 0, max: 4, handle: h.handleHeartbeat},
		{key: 13, min: 0, max: 5, handle: h.handleLeaveGroup},
		{key: 14, min: 0, max: 5, handle: h.handleSyncGroup},
		{key: 15, min: 0, max: 6, handle: h.handleDescribeGroups},
		{key: 16, min: 0, max: 5, handle: h.handleListGroups},
		{key: 17, min: 0, max: 1, handle: h.handleSaslHandshake},
		{key: 18, min: 0, max: 5, handle: h.handleApiVersions},
		{key: 19, min: 0, max: 7, handle: h.handleCreateTopics},
		{key: 20, min: 0, max: 6, handle: h.handleDeleteTopics},
		{key: 21, min: 0, max: 2, handle: h.handleDeleteRecords},
		{key: 22, min: 0, max: 5, handle: h.handleInitProducerID},
		{key: 23, min: 0, max: 4, handle: h.handleOffsetForLeaderEpoch},
		{key: 24, min: 0, max: 3, handle: h.handleAddPartitionsToTxn},
		{key: 25, min: 0, max: 4, handle: h.handleAddOffsetsToTxn},
		{key: 26, min: 0, max: 5, handle: h.handleEndTxn},
		{key: 28, min: 0, max: 6, handle: h.handleTxnOffsetCommit},
		{key: 29, min: 0, max: 3, handle: h.handleDescribeAcls},
		{key: 30, min: 0, max: 3, handle: h.handleCreateAcls},
		{key: 31, min: 0, max: 3, handle: h.handleDeleteAcls},
		{key: 32, min: 0, max: 4, handle: h.handleDescribeConfigs},
		{key: 33, min: 0, max: 2, handle: h.handleAlterConfigs},
		{key: 35, min: 0, max: 5, handle: h.handleDescribeLogDirs},
		{key: 36, min: 0, max: 2, handle: h.handleSaslAuthenticate},
		{key: 37, min: 0, max: 3, handle: h.handleCreatePartitions},
		{key: 38, min: 0, max: 3, handle: h.handleCreateDelegationToken},
		{key: 39, min: 0, max: 2, handle: h.handleRenewDelegationToken},
		{key: 40, min: 0, max: 2, handle: h.handleExpireDelegationToken},
		{key: 41, min: 0, max: 3, handle: h.handleDescribeDelegationToken},
		{key: 42, min: 0, max: 3, handle: h.handleDeleteGroups},
		{key: 43, min: 0, max: 2, handle: h.handleElectLeaders},
		{key: 44, min: 0, max: 1, handle: h.handleIncrementalAlterConfigs},
		{key: 45, min: 0, max: 1, handle: h.handleAlterPartitionAssignments},
		{key: 46, min: 0, max: 0, handle: h.handleListPartitionReassignments},
		{key: 47, min: 0, max: 0, handle: h.handleOffsetDelete},
		{key: 48, min: 0, max: 1, handle: h.handleDescribeClientQuotas},
		{key: 49, min: 0, max: 1, handle: h.handleAlterClientQuotas},
		{key: 50, min: 0, max: 0, handle: h.handleDescribeUserScramCredentials},
		{key: 51, min: 0, max: 0, handle: h.handleAlterUserScramCredentials},
		{key: 57, min: 0, max: 2, handle: h.handleUpdateFeatures},
		{key: 60, min: 0, max: 2, handle: h.handleDescribeCluster},
		{key: 61, min: 0, max: 0, handle: h.handleDescribeProducers},
		{key: 65, min: 0, max: 0, handle: h.handleDescribeTransactions},
		{key: 66, min: 0, max: 2, handle: h.handleListTransactions},
		{key: 68, min: 0, max: 1, handle: h.handleConsumerGroupHeartbeat},
		{key: 69, min: 0, max: 1, handle: h.handleConsumerGroupDescribe},
		{key: 74, min: 0, max: 1, handle: h.handleListConfigResources},
		{key: 75, min: 0, max: 0, handle: h.handleDescribeTopicPartitions},
	}
}

// errDuplicateTopic is the message for a topic a request names twice.
const errDuplicateTopic = "the request names this topic more than once"

// duplicated returns the names that occur more than once among n, as
// Kafka's admin APIs refuse them (INVALID_REQUEST) rather than pick one.
func duplicated(n int, name func(int) string) map[string]bool {
	seen := make(map[string]bool, n)
	var dupes map[string]bool
	for i := 0; i < n; i++ {
		k := name(i)
		if seen[k] {
			if dupes == nil {
				dupes = map[string]bool{}
			}
			dupes[k] = true
		}
		seen[k] = true
	}
	return dupes
}
