package config

// Topic config names, as Kafka spells them.
const (
	CleanupPolicy                   = "cleanup.policy"
	CompressionType                 = "compression.type"
	DeleteRetentionMs               = "delete.retention.ms"
	FileDeleteDelayMs               = "file.delete.delay.ms"
	FlushMessages                   = "flush.messages"
	FlushMs                         = "flush.ms"
	FollowerReplicationThrottled    = "follower.replication.throttled.replicas"
	IndexIntervalBytes              = "index.interval.bytes"
	LeaderReplicationThrottled      = "leader.replication.throttled.replicas"
	LocalRetentionBytes             = "local.retention.bytes"
	LocalRetentionMs                = "local.retention.ms"
	MaxCompactionLagMs              = "max.compaction.lag.ms"
	MaxMessageBytes                 = "max.message.bytes"
	MessageDownconversionEnable     = "message.downconversion.enable"
	MessageFormatVersion            = "message.format.version"
	MessageTimestampAfterMaxMs      = "message.timestamp.after.max.ms"
	MessageTimestampBeforeMaxMs     = "message.timestamp.before.max.ms"
	MessageTimestampDifferenceMaxMs = "message.timestamp.difference.max.ms"
	MessageTimestampType            = "message.timestamp.type"
	MinCleanableDirtyRatio          = "min.cleanable.dirty.ratio"
	MinCompactionLagMs              = "min.compaction.lag.ms"
	MinInsyncReplicas               = "min.insync.replicas"
	Preallocate                     = "preallocate"
	RemoteStorageEnable             = "remote.storage.enable"
	RetentionBytes                  = "retention.bytes"
	RetentionMs                     = "retention.ms"
	SegmentBytes                    = "segment.bytes"
	SegmentIndexBytes               = "segment.index.bytes"
	SegmentJitterMs                 = "segment.jitter.ms"
	SegmentMs                       = "segment.ms"
	UncleanLeaderElectionEnable     = "unclean.leader.election.enable"
)

// Default texts shared by the topic and broker tables.
const (
	maxLongText       = "9223372036854775807" // Kafka's Long.MAX_VALUE, meaning "never"
	weekMillis        = "604800000"
	dayMillis         = "86400000"
	defaultMaxMessage = "1048588" // 1 MiB plus the 12-byte log overhead
	// minSegmentBytes is Kafka 3.9's floor for segment.bytes
	// (LegacyRecord.RECORD_OVERHEAD_V0); Kafka 4.0 raised it to 1 MiB.
	minSegmentBytes = 14
)

// Values accepted by enumerated configs.
var (
	// An empty cleanup.policy neither deletes nor compacts: the log is kept
	// whole. Kafka 3.x accepts it (ValidList allows an empty list).
	cleanupPolicies  = subsetOf{values: []string{"compact", "delete"}, allowEmpty: true}
	compressionTypes = oneOf{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}
	timestampTypes   = oneOf{"CreateTime", "LogAppendTime"}
)

// topicDefinitions is every Kafka topic config Samsa answers for, sorted by
// name. Defaults and ranges follow Kafka 3.9's LogConfig; synonyms follow
// Kafka's ServerTopicConfigSynonyms, highest precedence first.
var topicDefinitions = []definition{
	{name: CleanupPolicy, typ: TypeList, def: "delete", rule: cleanupPolicies,
		synonyms: []synonym{{name: "log.cleanup.policy"}},
		doc:      "What happens to old segments: \"delete\" drops them by age or size, \"compact\" keeps the newest record per key; both may be listed, or neither (nothing is removed)."},
	{name: CompressionType, typ: TypeString, def: "producer", rule: compressionTypes,
		synonyms: []synonym{{name: "compression.type"}},
		doc:      "Codec batches are stored in; \"producer\" keeps whatever codec the producer chose."},
	{name: DeleteRetentionMs, typ: TypeLong, def: dayMillis, rule: atLeast(0),
		synonyms: []synonym{{name: "log.cleaner.delete.retention.ms"}},
		doc:      "How long a tombstone stays readable on a compacted topic, so slow consumers still see the delete."},
	{name: FileDeleteDelayMs, typ: TypeLong, def: "60000", rule: atLeast(0),
		synonyms: []synonym{{name: "log.segment.delete.delay.ms"}},
		doc:      "How long a removed segment's files linger before they are deleted from disk."},
	{name: FlushMessages, typ: TypeLong, def: maxLongText, rule: atLeast(1),
		synonyms: []synonym{{name: "log.flush.interval.messages"}},
		doc:      "Force an fsync after this many messages; the default never forces one and leaves durability to the flush policy."},
	{name: FlushMs, typ: TypeLong, def: maxLongText, rule: atLeast(0),
		synonyms: []synonym{{name: "log.flush.interval.ms"}, {name: "log.flush.scheduler.interval.ms"}},
		doc:      "Force an fsync once data has waited this long unflushed; the default never forces one."},
	{name: FollowerReplicationThrottled, typ: TypeList, def: "", rule: throttledReplicas{},
		doc: "Replicas (partition:broker pairs, or * for all) whose follower side of replication is throttled."},
	{name: IndexIntervalBytes, typ: TypeInt, def: "4096", rule: atLeast(0),
		synonyms: []synonym{{name: "log.index.interval.bytes"}},
		doc:      "Log bytes written between two offset-index entries; smaller makes the index denser and seeks shorter."},
	{name: LeaderReplicationThrottled, typ: TypeList, def: "", rule: throttledReplicas{},
		doc: "Replicas (partition:broker pairs, or * for all) whose leader side of replication is throttled."},
	{name: LocalRetentionBytes, typ: TypeLong, def: "-2", rule: atLeast(-2),
		synonyms: []synonym{{name: "log.local.retention.bytes"}},
		doc:      "With tiered storage, bytes kept on local disk per partition; -2 means the same as retention.bytes."},
	{name: LocalRetentionMs, typ: TypeLong, def: "-2", rule: atLeast(-2),
		synonyms: []synonym{{name: "log.local.retention.ms"}},
		doc:      "With tiered storage, how long segments stay on local disk; -2 means the same as retention.ms."},
	{name: MaxCompactionLagMs, typ: TypeLong, def: maxLongText, rule: atLeast(1),
		synonyms: []synonym{{name: "log.cleaner.max.compaction.lag.ms"}},
		doc:      "Longest a record may stay uncompacted before its segment must be cleaned."},
	{name: MaxMessageBytes, typ: TypeInt, def: defaultMaxMessage, rule: atLeast(0),
		synonyms: []synonym{{name: "message.max.bytes"}},
		doc:      "Largest record batch, after compression, the topic accepts."},
	{name: MessageDownconversionEnable, typ: TypeBoolean, def: "true",
		synonyms:   []synonym{{name: "log.message.downconversion.enable"}},
		deprecated: "Kafka 4.0 removes it; consumers that need old message formats are gone",
		doc:        "Whether fetches from consumers too old for the stored format are converted down."},
	{name: MessageFormatVersion, typ: TypeString, def: "3.0-IV1", rule: formatVersions,
		synonyms:   []synonym{{name: "log.message.format.version"}},
		deprecated: "Kafka 3.0 ignores it and 4.0 removes it; record batches are always written in format v2",
		doc:        "Message format of old Kafka releases. Accepted and ignored, as Kafka 3.x does once its protocol is 3.0 or later: Samsa always writes format v2."},
	{name: MessageTimestampAfterMaxMs, typ: TypeLong, def: maxLongText, rule: atLeast(0),
		synonyms: []synonym{{name: "log.message.timestamp.after.max.ms"}},
		doc:      "How far ahead of the broker clock a CreateTime timestamp may be before the batch is rejected."},
	{name: MessageTimestampBeforeMaxMs, typ: TypeLong, def: maxLongText, rule: atLeast(0),
		synonyms: []synonym{{name: "log.message.timestamp.before.max.ms"}},
		doc:      "How far behind the broker clock a CreateTime timestamp may be before the batch is rejected."},
	{name: MessageTimestampDifferenceMaxMs, typ: TypeLong, def: maxLongText, rule: atLeast(0),
		synonyms:   []synonym{{name: "log.message.timestamp.difference.max.ms"}},
		deprecated: "use message.timestamp.before.max.ms and message.timestamp.after.max.ms",
		doc:        "Largest allowed gap either way between a CreateTime timestamp and the broker clock; used while the before/after settings are left at their defaults."},
	{name: MessageTimestampType, typ: TypeString, def: "CreateTime", rule: timestampTypes,
		synonyms: []synonym{{name: "log.message.timestamp.type"}},
		doc:      "Whether records keep the producer's timestamp (CreateTime) or get the broker's append time (LogAppendTime)."},
	{name: MinCleanableDirtyRatio, typ: TypeDouble, def: "0.5", rule: floatRange{min: 0, max: 1},
		synonyms: []synonym{{name: "log.cleaner.min.cleanable.ratio"}},
		doc:      "Share of a compacted log that must be uncleaned before the cleaner picks it."},
	{name: MinCompactionLagMs, typ: TypeLong, def: "0", rule: atLeast(0),
		synonyms: []synonym{{name: "log.cleaner.min.compaction.lag.ms"}},
		doc:      "Shortest time a record stays uncompacted, so consumers can see every version for at least this long."},
	{name: MinInsyncReplicas, typ: TypeInt, def: "1", rule: atLeast(1),
		synonyms: []synonym{{name: "min.insync.replicas"}},
		doc:      "Replicas that must have a write before an acks=all produce succeeds."},
	{name: Preallocate, typ: TypeBoolean, def: "false",
		synonyms: []synonym{{name: "log.preallocate"}},
		doc:      "Whether a new segment file is allocated at full size up front. Samsa ignores it: its active segment always keeps 64 KiB of zeros ahead of small appends (docs/DESIGN.md, Segment preallocation)."},
	{name: RemoteStorageEnable, typ: TypeBoolean, def: "false",
		doc: "Whether old segments move to tiered (remote) storage; Samsa has none yet."},
	{name: RetentionBytes, typ: TypeLong, def: "-1",
		synonyms: []synonym{{name: "log.retention.bytes"}},
		doc:      "Size a partition may grow to before old segments are deleted; -1 means no limit."},
	{name: RetentionMs, typ: TypeLong, def: weekMillis, rule: atLeast(-1),
		synonyms: []synonym{
			{name: "log.retention.ms", unit: millisOrUnlimited},
			{name: "log.retention.minutes", unit: minutesToMillis},
			{name: "log.retention.hours", unit: hoursToMillis},
		},
		doc: "How long records are kept before their segment is deleted; -1 means forever."},
	{name: SegmentBytes, typ: TypeInt, def: "1073741824", rule: atLeast(minSegmentBytes),
		synonyms: []synonym{{name: "log.segment.bytes"}},
		doc:      "Size at which a segment file is closed and a new one started."},
	{name: SegmentIndexBytes, typ: TypeInt, def: "10485760", rule: atLeast(4),
		synonyms: []synonym{{name: "log.index.size.max.bytes"}},
		doc:      "Space reserved for a segment's offset index; a full index also rolls the segment."},
	{name: SegmentJitterMs, typ: TypeLong, def: "0", rule: atLeast(0),
		synonyms: []synonym{
			{name: "log.roll.jitter.ms"},
			{name: "log.roll.jitter.hours", unit: hoursToMillis},
		},
		doc: "Random amount taken off segment.ms per segment so that many partitions do not roll at once."},
	{name: SegmentMs, typ: TypeLong, def: weekMillis, rule: atLeast(1),
		synonyms: []synonym{
			{name: "log.roll.ms"},
			{name: "log.roll.hours", unit: hoursToMillis},
		},
		doc: "Age at which a segment is closed even if not full, so retention and compaction can act on it."},
	{name: UncleanLeaderElectionEnable, typ: TypeBoolean, def: "false",
		synonyms: []synonym{{name: "unclean.leader.election.enable"}},
		doc:      "Whether an out-of-sync replica may become leader, trading lost records for availability."},
}
