// Package group is Samsa's group coordinator: classic consumer groups
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), KIP-848 consumer groups
// (ConsumerGroupHeartbeat), and committed offsets, persisted in the internal
// topic __consumer_offsets in Kafka's record formats so Kafka tools can read it.
//
// # Structure
//
// Groups are split into shards, one per __consumer_offsets partition
// (partition = abs(javaHashCode(groupID)) % partitions, as in Kafka). Each
// shard's state (shardState) is a deterministic state machine: its methods take
// the current time and a request, change state, and return the response plus
// effects: records to append and answers owed to parked JoinGroup/SyncGroup
// calls. They never lock, block, read the clock or do IO.
//
// The runtime (runtime.go, api.go) owns everything else: a mutex per shard, a
// writer goroutine per shard that appends queued records through Log in order
// (group commit: several operations per Append) and releases answers only once
// their records are durable, a timer loop for session/rebalance timeouts, the
// initial rebalance delay and offset retention, and replay on Start. When an
// Append fails the shard's memory may be ahead of the log, so the shard is
// dropped and replayed; meanwhile its requests answer
// COORDINATOR_LOAD_IN_PROGRESS.
//
// Lock order: a goroutine holds at most one shard mutex, and calls Log only
// without it.
//
// # Files
//
//	api.go               the exported request methods the Kafka handlers call
//	runtime.go           Coordinator: shard locks, writer, waiters, timer loop, replay
//	config.go            Config and Kafka's defaults
//	state.go             shard and classic group state, protocol selection, timers
//	join.go              JoinGroup (MEMBER_ID_REQUIRED, static membership)
//	rebalance.go         PreparingRebalance -> CompletingRebalance, initial delay
//	sync.go              SyncGroup
//	heartbeat.go         Heartbeat, LeaveGroup
//	offsets.go           OffsetCommit, OffsetFetch, OffsetDelete, retention
//	describe.go          DescribeGroups, ListGroups, DeleteGroups
//	consumer_protocol.go KIP-848 heartbeat, group epochs, ConsumerGroupDescribe
//	reconcile.go         KIP-848 member reconciliation (revoke before reassign)
//	migration.go         online classic <-> KIP-848 conversion, classic members in KIP-848 groups
//	consumer_records.go  KIP-848 records in __consumer_offsets: encoding, writing changes, replay
//	assignor.go          server-side "uniform" and "range" assignors
//	records.go           __consumer_offsets record formats and replay
//	txn_offsets.go       TxnOffsetCommit: offsets pending until their transaction's marker
//
// # On-disk format (__consumer_offsets records)
//
// Keys and values are Kafka's, built with kmsg. All integers are big-endian;
// a string is an int16 length then UTF-8 bytes (nullable: length -1 is null);
// bytes are an int32 length then the bytes. A record with a null value is a
// tombstone deleting its key. The key's first int16 says what the record is.
//
// Offset commit key (versions 0 and 1 are identical; version 1 is written):
//
//	+---------+--------------+--------------+-----------+
//	| int16 1 | string group | string topic | int32 part|
//	+---------+--------------+--------------+-----------+
//
// Offset commit value, version 3 (written normally, Kafka 2.1+):
//
//	+---------+--------------+-------------------+-----------------+----------------------+
//	| int16 3 | int64 offset | int32 leaderEpoch | string metadata | int64 commitTimeMs   |
//	+---------+--------------+-------------------+-----------------+----------------------+
//
// Offset commit value, version 1 (written only when an OffsetCommit v1–v4 set
// a retention; expiry then uses expireTimeMs):
//
//	+---------+--------------+-----------------+--------------------+--------------------+
//	| int16 1 | int64 offset | string metadata | int64 commitTimeMs | int64 expireTimeMs |
//	+---------+--------------+-----------------+--------------------+--------------------+
//
// Versions 0 (no expire time, no epoch), 2 (no epoch) and 4 (flexible, with a
// topic id tag) are read too.
//
// Group metadata key (version 2):
//
//	+---------+--------------+
//	| int16 2 | string group |
//	+---------+--------------+
//
// Group metadata value, version 3 (written at every generation change and
// when a static member is replaced; versions 0–4 are read):
//
//	+---------+---------------------+------------------+--------------------------+
//	| int16 3 | string protocolType | int32 generation | nullable string protocol |
//	+---------+---------------------+------------------+--------------------------+
//	| nullable string leader | int64 currentStateTimeMs (-1: unknown) | int32 n |
//	+------------------------+----------------------------------------+---------+
//	n times:
//	+------------------+----------------------------+-----------------+-------------------+
//	| string memberID  | nullable string instanceID | string clientID | string clientHost |
//	+------------------+----------------------------+-----------------+-------------------+
//	| int32 rebalanceTimeoutMs | int32 sessionTimeoutMs | bytes subscription | bytes assignment |
//	+--------------------------+------------------------+--------------------+------------------+
//
// subscription is the member's metadata for the selected protocol. A group
// that became empty is written with no protocol, no leader and no members.
//
// TxnOffsetCommit writes the same offset commit records as one transactional
// batch of the producer (its producer id and epoch, transactional attribute).
// They are pending until a control batch of that producer follows: COMMIT
// applies them, ABORT drops them, on replay as when first written. Pending
// offsets make an OffsetFetch with require_stable answer
// UNSTABLE_OFFSET_COMMIT for their partitions.
//
// KIP-848 groups are persisted with Kafka's records of key versions 3
// (group epoch), 5 (member metadata), 6 (assignment epoch), 7 (a member's
// target assignment) and 8 (a member's epochs, state and partitions);
// consumer_records.go has their layouts. A restart brings back every member
// at the epoch it had. Other key versions (4, Kafka 3.x's partition metadata;
// share, streams and regular-expression records of newer Kafka) are skipped
// on replay.
//
// Format migration: the written versions are Kafka 3.x's; a new version must
// keep reading every older one (replay dispatches on the key and value
// versions), and written versions change only together with Kafka's.
package group
