package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FsyncPolicy is the value of samsa.fsync: when appended data reaches disk.
type FsyncPolicy string

// Fsync policies.
const (
	// FsyncNever leaves flushing to the operating system (Kafka's default
	// behaviour); a machine crash can lose acknowledged records.
	FsyncNever FsyncPolicy = "never"
	// FsyncInterval fsyncs at least every samsa.fsync.interval.ms.
	FsyncInterval FsyncPolicy = "interval"
	// FsyncAlways fsyncs before a produce is acknowledged.
	FsyncAlways FsyncPolicy = "always"
)

// Broker is the broker's configuration: the properties as given (from
// server.properties and --set), checked by NewBroker, with typed accessors.
// The properties never change after construction; the dynamic layer above
// them (SetDynamic) is replaced atomically. It is safe for concurrent use.
type Broker struct {
	// props holds every key as given, unknown ones included, so
	// DescribeConfigs can show them.
	props map[string]string
	// dynamic holds the configs set at runtime (nil: none).
	dynamic atomic.Pointer[DynamicConfigs]
	// changed is closed by the next SetDynamic (nil: nobody is waiting).
	changedMu sync.Mutex
	changed   chan struct{}

	nodeID     int32
	listeners  []Listener // client listeners; controller listeners left out
	advertised []Listener // one per client listener, same order
	dataDir    string
}

// NewBroker checks props and builds a Broker. Unknown keys and keys with
// no meaning in Samsa become warnings; every invalid value of a known key
// is reported at once in a *ValidationError (which wraps ErrInvalidConfig
// through each *ConfigError). props is copied.
func NewBroker(props map[string]string) (*Broker, []Warning, error) {
	b := &Broker{props: maps.Clone(props)}
	if b.props == nil {
		b.props = make(map[string]string)
	}
	var warnings []Warning
	var problems []error
	for _, key := range slices.Sorted(maps.Keys(b.props)) {
		value := b.props[key]
		def, known := lookupBroker(key)
		if !known {
			if isListenerConnectionLimit(key) {
				if err := checkListenerConnectionLimit(key, value); err != nil {
					problems = append(problems, err)
				}
				continue
			}
			warnings = append(warnings, classifyUnlisted(key)...)
			continue
		}
		if err := def.check(value); err != nil {
			problems = append(problems, &ConfigError{Name: key, Value: value, Hidden: def.typ == TypePassword,
				Reason: err.Error(), Err: ErrInvalidConfig})
			continue
		}
		if def.usage == UsageNotApplicable {
			warnings = append(warnings, Warning{Key: key, Kind: WarningNotApplicable,
				Message: "accepted but not applicable to Samsa: " + def.doc})
		}
		if def.deprecated != "" {
			warnings = append(warnings, Warning{Key: key, Kind: WarningDeprecated,
				Message: "deprecated in Kafka: " + def.deprecated})
		}
	}
	if len(problems) == 0 { // the cross checks assume well-typed values
		problems = append(problems, b.resolve()...)
	}
	if len(problems) > 0 {
		return nil, warnings, &ValidationError{What: "broker configuration", Problems: problems}
	}
	return b, warnings, nil
}

// classifyUnlisted warns about a key without a table row, unless its
// prefix marks it as accepted.
func classifyUnlisted(key string) []Warning {
	for _, p := range acceptedPrefixes {
		if strings.HasPrefix(key, p) {
			return nil
		}
	}
	for _, p := range notApplicablePrefixes {
		if strings.HasPrefix(key, p) {
			return []Warning{{Key: key, Kind: WarningNotApplicable,
				Message: "accepted but not applicable to Samsa, which does not use ZooKeeper"}}
		}
	}
	return []Warning{{Key: key, Kind: WarningUnknownKey, Message: "not a config Samsa knows; it is kept but has no effect"}}
}

// resolve checks how settings fit together and fills the derived fields.
func (b *Broker) resolve() []error {
	var problems []error
	problem := func(name, reason string) {
		problems = append(problems, &ConfigError{Name: name, Value: b.props[name], Reason: reason, Err: ErrInvalidConfig})
	}

	// broker.id and node.id are one setting under two names.
	brokerID, hasBrokerID := b.props[BrokerID]
	nodeID, hasNodeID := b.props[NodeID]
	idKey := BrokerID
	if hasNodeID {
		idKey = NodeID
	}
	b.nodeID = b.int32(idKey)
	if hasBrokerID && hasNodeID && strings.TrimSpace(brokerID) != strings.TrimSpace(nodeID) {
		problem(NodeID, fmt.Sprintf("differs from broker.id (%s); set one of them, or both to the same id", strings.TrimSpace(brokerID)))
	} else if b.nodeID < 0 {
		problem(idKey, "must not be negative: Samsa does not generate ids")
	}

	if dirs, ok := b.props[LogDirs]; ok {
		b.dataDir = splitList(dirs)[0]
	} else {
		b.dataDir = splitList(b.stringValue(LogDir))[0]
	}

	// Broker settings are the defaults of every topic, so they must also be
	// valid topic values (Kafka builds its default LogConfig at startup).
	for i := range topicDefinitions {
		def := &topicDefinitions[i]
		for _, s := range def.synonyms {
			if v, ok := b.Get(s.name); ok {
				if err := def.check(s.unit.convert(v)); err != nil {
					problem(s.name, fmt.Sprintf("as the default of topic config %s: %v", def.name, err))
				}
				break // only the first synonym set is used
			}
		}
	}
	if ms := b.TopicInt64(nil, RetentionMs); ms == 0 {
		problems = append(problems, &ConfigError{Name: "log.retention.ms", Value: "0",
			Reason: "log retention must be -1 (unlimited) or at least 1 ms; check log.retention.ms, .minutes and .hours",
			Err:    ErrInvalidConfig})
	}
	if b.int32("group.min.session.timeout.ms") > b.int32("group.max.session.timeout.ms") {
		problem("group.min.session.timeout.ms", "must not exceed group.max.session.timeout.ms")
	}
	// KIP-848 group timeouts must fit their ranges (Kafka's
	// GroupCoordinatorConfig checks).
	for _, r := range []struct{ value, min, max string }{
		{"group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms"},
		{"group.consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms"},
	} {
		switch v := b.int32(r.value); {
		case v < b.int32(r.min):
			problem(r.value, "must be at least "+r.min)
		case v > b.int32(r.max):
			problem(r.value, "must be at most "+r.max)
		}
	}
	if b.int32("group.consumer.heartbeat.interval.ms") >= b.int32("group.consumer.session.timeout.ms") {
		problem("group.consumer.heartbeat.interval.ms", "must be less than group.consumer.session.timeout.ms")
	}
	if !slices.Contains(splitList(b.stringValue("group.coordinator.rebalance.protocols")), "classic") {
		problem("group.coordinator.rebalance.protocols", "disabling the 'classic' protocol is not supported")
	}
	if b.int64("log.cleaner.min.compaction.lag.ms") > b.int64("log.cleaner.max.compaction.lag.ms") {
		problem("log.cleaner.min.compaction.lag.ms", "must not exceed log.cleaner.max.compaction.lag.ms")
	}

	if err := b.checkConnections(); err != nil {
		problems = append(problems, err)
	}

	if err := b.resolveListeners(); err != nil {
		problems = append(problems, err)
	}
	return problems
}

func (b *Broker) resolveListeners() error {
	wrap := func(name string, err error) error {
		return &ConfigError{Name: name, Value: b.stringValue(name), Reason: err.Error(), Err: ErrInvalidConfig}
	}
	protocolMap, err := ParseSecurityProtocolMap(b.stringValue(ListenerSecurityProtocolMap))
	if err != nil {
		return wrap(ListenerSecurityProtocolMap, err)
	}
	controllerNames := splitList(b.stringValue(ControllerListenerNames))

	all, err := ParseListeners(b.stringValue(Listeners))
	if err != nil {
		return wrap(Listeners, err)
	}
	if err := ResolveSecurityProtocols(all, protocolMap, controllerNames); err != nil {
		return wrap(Listeners, err)
	}
	if err := checkPortClashes(all); err != nil {
		return wrap(Listeners, err)
	}
	for _, l := range all {
		if !containsFold(controllerNames, l.Name) {
			b.listeners = append(b.listeners, l)
		}
	}
	if len(b.listeners) == 0 {
		return wrap(Listeners, fmt.Errorf("no listener is left for clients once the controller listeners (%s) are set aside",
			strings.Join(controllerNames, ", ")))
	}

	advertised, err := ParseListeners(b.stringValue(AdvertisedListeners))
	if err != nil {
		return wrap(AdvertisedListeners, err)
	}
	byName := make(map[string]Listener, len(advertised))
	for _, a := range advertised {
		if isWildcardHost(a.Host) && a.Host != "" {
			return wrap(AdvertisedListeners, fmt.Errorf("listener %s advertises %s, which clients cannot connect to", a.Name, a.Host))
		}
		if !slices.ContainsFunc(all, func(l Listener) bool { return l.Name == a.Name }) {
			return wrap(AdvertisedListeners, fmt.Errorf("listener %s is not among the listeners", a.Name))
		}
		byName[a.Name] = a
	}
	for _, l := range b.listeners {
		a, ok := byName[l.Name]
		if !ok {
			a = l
		}
		a.SecurityProtocol = l.SecurityProtocol
		b.advertised = append(b.advertised, a)
	}
	return nil
}

// Get returns a key's value as set at runtime or given at start-up, or
// false when it was not set.
func (b *Broker) Get(name string) (string, bool) {
	s, ok := b.lookupLayered(name)
	return s.Value, ok
}

// Properties returns a copy of every key as given, unknown ones included.
func (b *Broker) Properties() map[string]string {
	if b == nil {
		return map[string]string{}
	}
	return maps.Clone(b.props)
}

// Effective answers DescribeConfigs for a broker config: its value and
// source, and synonyms in Kafka's order (set values first, then defaults;
// log.retention.* and log.roll.* are one family, listed from the described
// name down). An unset config without default returns "" (Kafka's null; see
// Info.HasDefault). Sensitive values come back empty. Unknown names return
// SourceUnknown, unless they were set, which makes them STATIC_BROKER_CONFIG.
func (b *Broker) Effective(name string) (value string, source Source, synonyms []Synonym) {
	def, known := lookupBroker(name)
	if !known {
		if s, ok := b.lookupLayered(name); ok {
			// Kafka cannot type a key it does not know, so it treats the
			// value as sensitive.
			return "", s.Source, b.layeredSynonyms([]string{name}, true)
		}
		return "", SourceUnknown, nil
	}
	sensitive := def.typ == TypePassword
	family := brokerSynonymFamily(name)
	synonyms = b.layeredSynonyms(family, sensitive)
	for _, n := range family {
		if d, ok := lookupBroker(n); ok && !d.noDefault {
			synonyms = append(synonyms, Synonym{Name: n, Value: hideIf(sensitive, d.def), Source: SourceDefault})
		}
	}
	// Like Kafka, drop entries of higher-precedence names: describing
	// log.retention.hours does not list log.retention.ms.
	for len(synonyms) > 0 && synonyms[0].Name != name {
		synonyms = synonyms[1:]
	}
	if s, ok := b.lookupLayered(name); ok {
		return hideIf(sensitive, strings.TrimSpace(s.Value)), s.Source, synonyms
	}
	if def.noDefault {
		return "", SourceDefault, synonyms
	}
	return hideIf(sensitive, def.def), SourceDefault, synonyms
}

func hideIf(sensitive bool, v string) string {
	if sensitive {
		return ""
	}
	return v
}

// brokerSynonymFamily lists broker configs that are one setting in
// different units, highest precedence first (Kafka's
// DynamicBrokerConfig.brokerConfigSynonyms).
func brokerSynonymFamily(name string) []string {
	for _, family := range [][]string{
		{"log.roll.ms", "log.roll.hours"},
		{"log.roll.jitter.ms", "log.roll.jitter.hours"},
		{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
		{"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
	} {
		if slices.Contains(family, name) {
			return family
		}
	}
	return []string{name}
}

// Typed reads of known broker configs. NewBroker has validated every set
// value, so parsing cannot fail; an unknown name is a programming error.

func (b *Broker) stringValue(name string) string {
	if v, ok := b.Get(name); ok {
		return strings.TrimSpace(v)
	}
	def := mustLookupBroker(name)
	return def.def
}

func (b *Broker) int64(name string) int64 {
	n, _ := strconv.ParseInt(b.stringValue(name), 10, 64)
	return n
}

func (b *Broker) int32(name string) int32 { return int32(b.int64(name)) }

func (b *Broker) bool(name string) bool { return strings.EqualFold(b.stringValue(name), "true") }

func (b *Broker) millis(name string) time.Duration {
	return time.Duration(b.int64(name)) * time.Millisecond
}

// NodeID is broker.id or node.id (default 0).
func (b *Broker) NodeID() int32 { return b.nodeID }

// ListenAddrs returns the listeners to accept clients on, each with its
// security protocol. Listeners named in controller.listener.names are left
// out: Samsa has no KRaft controller to serve on them.
func (b *Broker) ListenAddrs() []Listener { return slices.Clone(b.listeners) }

// AdvertisedListeners returns, for each of ListenAddrs in the same order,
// the address to give clients in metadata: the advertised.listeners entry
// of the same name, or the listener itself. An empty Host means the caller
// must pick one (such as the address the client connected to).
func (b *Broker) AdvertisedListeners() []Listener { return slices.Clone(b.advertised) }

// DataDir is the directory holding all data: log.dirs, else log.dir.
func (b *Broker) DataDir() string { return b.dataDir }

// Rack is broker.rack, or "" when not set.
func (b *Broker) Rack() string { return b.stringValue("broker.rack") }

// NumPartitions is the partition count of topics created without one.
func (b *Broker) NumPartitions() int32 { return b.int32("num.partitions") }

// DefaultReplicationFactor is the replication factor of auto-created topics.
func (b *Broker) DefaultReplicationFactor() int16 {
	return int16(b.int32("default.replication.factor"))
}

// AutoCreateTopics is auto.create.topics.enable.
func (b *Broker) AutoCreateTopics() bool { return b.bool("auto.create.topics.enable") }

// DeleteTopicEnable is delete.topic.enable.
func (b *Broker) DeleteTopicEnable() bool { return b.bool("delete.topic.enable") }

// SocketRequestMaxBytes is the largest request frame the broker reads.
func (b *Broker) SocketRequestMaxBytes() int32 { return b.int32("socket.request.max.bytes") }

// QueuedMaxRequestBytes bounds request bytes read but not yet answered;
// 0 or less means the server's default.
func (b *Broker) QueuedMaxRequestBytes() int64 {
	n, _ := strconv.ParseInt(b.stringValue("queued.max.request.bytes"), 10, 64)
	return n
}

// FetchMaxBytes caps the size of one Fetch response.
func (b *Broker) FetchMaxBytes() int32 { return b.int32("fetch.max.bytes") }

// ConnectionsMaxIdle is how long an idle client connection stays open.
func (b *Broker) ConnectionsMaxIdle() time.Duration { return b.millis("connections.max.idle.ms") }

// ConnectionsMaxReauth is the longest a SASL authentication with mechanism
// on listener lasts before the client must re-authenticate: Kafka's
// listener.name.<listener>.<mechanism>.connections.max.reauth.ms, else
// connections.max.reauth.ms; 0 or less is forever.
func (b *Broker) ConnectionsMaxReauth(listener, mechanism string) time.Duration {
	const name = "connections.max.reauth.ms"
	if v, ok := b.Get("listener.name." + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + "." + name); ok {
		if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return b.millis(name)
}

// Fsync is samsa.fsync.
func (b *Broker) Fsync() FsyncPolicy { return FsyncPolicy(b.stringValue(SamsaFsync)) }

// FsyncInterval is samsa.fsync.interval.ms, used with FsyncInterval.
func (b *Broker) FsyncInterval() time.Duration { return b.millis(SamsaFsyncIntervalMs) }

// SysmonAwake is samsa.runtime.sysmon.awake.
func (b *Broker) SysmonAwake() bool { return b.bool(SamsaRuntimeSysmonAwake) }

// PageCacheMaxBytes is samsa.log.page.cache.max.bytes; <= 0 means unmanaged.
func (b *Broker) PageCacheMaxBytes() int64 { return b.int64(SamsaPageCacheMaxBytes) }

// ControllerQuotaWindow is the burst a controller_mutation_rate quota allows:
// controller.quota.window.num × controller.quota.window.size.seconds of its
// rate (Kafka's token bucket, KIP-599).
func (b *Broker) ControllerQuotaWindow() time.Duration {
	return time.Duration(b.int64("controller.quota.window.size.seconds")*b.int64("controller.quota.window.num")) * time.Second
}

// QuotaWindow is the burst a byte-rate quota allows (quota.window.size.seconds)
// and the longest throttle it imposes (that times quota.window.num).
func (b *Broker) QuotaWindow() (burst, maxThrottle time.Duration) {
	size := time.Duration(b.int64("quota.window.size.seconds")) * time.Second
	return size, size * time.Duration(b.int64("quota.window.num"))
}

// LogRetentionCheckInterval is how often retention is enforced.
func (b *Broker) LogRetentionCheckInterval() time.Duration {
	return b.millis("log.retention.check.interval.ms")
}

// LogCleanerBackoff is how often the log cleaner runs (log.cleaner.backoff.ms).
func (b *Broker) LogCleanerBackoff() time.Duration { return b.millis("log.cleaner.backoff.ms") }

// LogCleanerEnable is log.cleaner.enable.
func (b *Broker) LogCleanerEnable() bool { return b.bool("log.cleaner.enable") }

// OffsetsTopicNumPartitions is the partition count of __consumer_offsets.
func (b *Broker) OffsetsTopicNumPartitions() int32 { return b.int32("offsets.topic.num.partitions") }

// OffsetsTopicReplicationFactor is the replication factor of __consumer_offsets.
func (b *Broker) OffsetsTopicReplicationFactor() int16 {
	return int16(b.int32("offsets.topic.replication.factor"))
}

// OffsetsTopicSegmentBytes is the segment size of __consumer_offsets.
func (b *Broker) OffsetsTopicSegmentBytes() int32 { return b.int32("offsets.topic.segment.bytes") }

// OffsetsRetention is how long committed offsets of an empty group are kept.
func (b *Broker) OffsetsRetention() time.Duration {
	return time.Duration(b.int64("offsets.retention.minutes")) * time.Minute
}

// OffsetsRetentionCheckInterval is how often expired offsets are removed.
func (b *Broker) OffsetsRetentionCheckInterval() time.Duration {
	return b.millis("offsets.retention.check.interval.ms")
}

// GroupInitialRebalanceDelay is how long a new group waits for members.
func (b *Broker) GroupInitialRebalanceDelay() time.Duration {
	return b.millis("group.initial.rebalance.delay.ms")
}

// GroupMinSessionTimeout is the shortest session timeout a member may ask for.
func (b *Broker) GroupMinSessionTimeout() time.Duration {
	return b.millis("group.min.session.timeout.ms")
}

// GroupMaxSessionTimeout is the longest session timeout a member may ask for.
func (b *Broker) GroupMaxSessionTimeout() time.Duration {
	return b.millis("group.max.session.timeout.ms")
}

// ConsumerGroupSessionTimeout is group.consumer.session.timeout.ms, the
// KIP-848 session timeout of groups that do not set their own.
func (b *Broker) ConsumerGroupSessionTimeout() time.Duration {
	return b.millis("group.consumer.session.timeout.ms")
}

// ConsumerGroupHeartbeatInterval is group.consumer.heartbeat.interval.ms.
func (b *Broker) ConsumerGroupHeartbeatInterval() time.Duration {
	return b.millis("group.consumer.heartbeat.interval.ms")
}

// MaxRequestPartitionSizeLimit is max.request.partition.size.limit, the
// most partitions one DescribeTopicPartitions response describes.
func (b *Broker) MaxRequestPartitionSizeLimit() int32 {
	return b.int32("max.request.partition.size.limit")
}

// GroupMaxSize is the most members one group may have.
func (b *Broker) GroupMaxSize() int32 { return b.int32("group.max.size") }

// TransactionStateLogNumPartitions is the partition count of __transaction_state.
func (b *Broker) TransactionStateLogNumPartitions() int32 {
	return b.int32("transaction.state.log.num.partitions")
}

// TransactionStateLogReplicationFactor is the replication factor of __transaction_state.
func (b *Broker) TransactionStateLogReplicationFactor() int16 {
	return int16(b.int32("transaction.state.log.replication.factor"))
}

// TransactionStateLogSegmentBytes is the segment size of __transaction_state.
func (b *Broker) TransactionStateLogSegmentBytes() int32 {
	return b.int32("transaction.state.log.segment.bytes")
}

// DelegationTokenSecret is delegation.token.secret.key (or its deprecated
// name delegation.token.master.key); "" turns delegation tokens off.
func (b *Broker) DelegationTokenSecret() string {
	if v := b.stringValue("delegation.token.secret.key"); v != "" {
		return v
	}
	return b.stringValue("delegation.token.master.key")
}

// DelegationTokenLifetimes are delegation.token.expiry.time.ms,
// delegation.token.max.lifetime.ms and
// delegation.token.expiry.check.interval.ms.
func (b *Broker) DelegationTokenLifetimes() (expiry, maxLifetime, checkInterval time.Duration) {
	return b.millis("delegation.token.expiry.time.ms"), b.millis("delegation.token.max.lifetime.ms"),
		b.millis("delegation.token.expiry.check.interval.ms")
}

// TransactionalIDExpiration is how long an idle transactional id is kept.
func (b *Broker) TransactionalIDExpiration() time.Duration {
	return b.millis("transactional.id.expiration.ms")
}

// TransactionMaxTimeout is the longest transaction timeout allowed.
func (b *Broker) TransactionMaxTimeout() time.Duration {
	return b.millis("transaction.max.timeout.ms")
}

// TransactionAbortTimedOutInterval is how often timed-out transactions are aborted.
func (b *Broker) TransactionAbortTimedOutInterval() time.Duration {
	return b.millis("transaction.abort.timed.out.transaction.cleanup.interval.ms")
}

// TransactionRemoveExpiredInterval is how often expired transactional ids are removed.
func (b *Broker) TransactionRemoveExpiredInterval() time.Duration {
	return b.millis("transaction.remove.expired.transaction.cleanup.interval.ms")
}

// ProducerIDExpiration is how long an idle producer id's state is kept.
func (b *Broker) ProducerIDExpiration() time.Duration { return b.millis("producer.id.expiration.ms") }

// ProducerIDExpirationCheckInterval is how often expired producer ids are removed.
func (b *Broker) ProducerIDExpirationCheckInterval() time.Duration {
	return b.millis("producer.id.expiration.check.interval.ms")
}

// ConsumerGroupMigrationPolicy is group.consumer.migration.policy, lower-cased:
// bidirectional, upgrade, downgrade or disabled.
func (b *Broker) ConsumerGroupMigrationPolicy() string {
	return strings.ToLower(b.stringValue("group.consumer.migration.policy"))
}

// ConsumerGroupProtocolEnabled reports whether group.coordinator.rebalance.protocols
// includes consumer, the KIP-848 protocol.
func (b *Broker) ConsumerGroupProtocolEnabled() bool {
	return slices.Contains(splitList(b.stringValue("group.coordinator.rebalance.protocols")), "consumer")
}

// SASLEnabledMechanisms lists the SASL mechanisms to offer.
func (b *Broker) SASLEnabledMechanisms() []string {
	return splitList(b.stringValue("sasl.enabled.mechanisms"))
}

// AuthorizerEnabled reports whether authorizer.class.name is set, which
// turns on ACL checks.
func (b *Broker) AuthorizerEnabled() bool { return b.stringValue("authorizer.class.name") != "" }

// SuperUsers lists the principals in super.users (separated by ';').
func (b *Broker) SuperUsers() []string {
	var users []string
	for _, u := range strings.Split(b.stringValue("super.users"), ";") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	return users
}

// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found.
func (b *Broker) AllowEveryoneIfNoACLFound() bool { return b.bool("allow.everyone.if.no.acl.found") }

// BrokerConfigNames lists the broker configs in the definition table, sorted.
func BrokerConfigNames() []string { return namesOf(brokerDefinitions) }

// DescribeBroker returns the description of a broker config. Keys accepted
// by prefix (ssl.*, sasl.*, listener.name.*) without a table row come back
// with TypeUnknown and Sensitive set, as Kafka reports keys it cannot type.
func DescribeBroker(name string) (Info, bool) {
	if def, ok := lookupBroker(name); ok {
		return def.info(!IsDynamicBrokerConfig(name)), true
	}
	for _, p := range acceptedPrefixes {
		if strings.HasPrefix(name, p) {
			return Info{Name: name, Type: TypeUnknown, Sensitive: true, ReadOnly: true, Usage: UsageActive}, true
		}
	}
	return Info{}, false
}

func lookupBroker(name string) (*definition, bool) { return lookup(brokerDefinitions, name) }

func mustLookupBroker(name string) *definition {
	def, ok := lookupBroker(name)
	if !ok {
		panic("config: no broker config named " + strconv.Quote(name))
	}
	return def
}

// lookup finds a definition by binary search; tables are sorted by name
// (checked by a test).
func lookup(table []definition, name string) (*definition, bool) {
	i, found := slices.BinarySearchFunc(table, name, func(d definition, n string) int {
		return strings.Compare(d.name, n)
	})
	if !found {
		return nil, false
	}
	return &table[i], true
}

func namesOf(table []definition) []string {
	names := make([]string, len(table))
	for i := range table {
		names[i] = table[i].name
	}
	return names
}

// ListenerValue returns a setting as it applies to one listener: Kafka's
// per-listener override listener.name.<listener in lower case>.<name> when
// set, else the broker-wide value or its default.
func (b *Broker) ListenerValue(listener, name string) string {
	if v, ok := b.Get("listener.name." + strings.ToLower(listener) + "." + name); ok {
		return strings.TrimSpace(v)
	}
	if _, known := lookupBroker(name); known {
		return b.stringValue(name)
	}
	v, _ := b.Get(name)
	return strings.TrimSpace(v)
}

// ListenerList is ListenerValue split at commas, empty entries dropped.
func (b *Broker) ListenerList(listener, name string) []string {
	var out []string
	for _, part := range strings.Split(b.ListenerValue(listener, name), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// SASLJAASConfig returns the JAAS configuration for a listener's SASL
// mechanism: listener.name.<listener>.<mechanism>.sasl.jaas.config, else
// listener.name.<listener>.sasl.jaas.config, else sasl.jaas.config.
func (b *Broker) SASLJAASConfig(listener, mechanism string) string {
	if v, ok := b.Get("listener.name." + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + ".sasl.jaas.config"); ok {
		return v
	}
	return b.ListenerValue(listener, "sasl.jaas.config")
}
