// Package metadata holds the cluster's topic catalogue: topic names, topic
// IDs, partition counts and per-topic config overrides, plus the cluster id.
//
// The catalogue is itself a log: every change is one JSON event appended as a
// record batch to the metadata log (data-dir/__cluster_metadata-0) and the
// state is rebuilt by replaying it on start. A Raft-backed store can later
// replicate the same events.
package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/quota"
	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/security"
	"github.com/samsa-broker/samsa/internal/storage"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// Errors returned by Store methods.
var (
	ErrTopicExists      = errors.New("topic already exists")
	ErrUnknownTopic     = errors.New("unknown topic")
	ErrInvalidPartition = errors.New("invalid partition count")
)

// TopicID is a Kafka topic UUID.
type TopicID [16]byte

// Topic is one topic's metadata.
type Topic struct {
	Name       string
	ID         TopicID
	Partitions int32
	Configs    map[string]string // explicit overrides only
	Internal   bool
}

// event is one change in the metadata log.
type event struct {
	Type       string            `json:"type"` // cluster, create, delete, configs, partitions
	ClusterID  string            `json:"cluster_id,omitempty"`
	Topic      string            `json:"topic,omitempty"`
	ID         *TopicID          `json:"id,omitempty"`
	Partitions int32             `json:"partitions,omitempty"`
	Configs    map[string]string `json:"configs,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	// ProducerIDsUpTo reserves producer ids below it (type producer_ids).
	ProducerIDsUpTo int64 `json:"producer_ids_up_to,omitempty"`
	// User, Mechanism and Scram describe a SCRAM credential (types
	// scram_set and scram_delete).
	User      string                    `json:"user,omitempty"`
	Mechanism string                    `json:"mechanism,omitempty"`
	Scram     *security.ScramCredential `json:"scram,omitempty"`
	// ACLs are the bindings created or deleted (types acl_create and
	// acl_delete).
	ACLs []acl.Binding `json:"acls,omitempty"`
	// QuotaEntity and QuotaOps change one entity's client quotas (type
	// quota_alter).
	QuotaEntity quota.Entity `json:"quota_entity,omitempty"`
	QuotaOps    []quota.Op   `json:"quota_ops,omitempty"`
	// BrokerScope names the broker whose dynamic configs Configs replace
	// (type broker_configs): a node id, or "" for the cluster default.
	BrokerScope string `json:"broker_scope,omitempty"`
	// Group names the group whose configs Configs replace (type
	// group_configs).
	Group string `json:"group,omitempty"`
	// Features are finalized feature levels set by UpdateFeatures (type
	// features): each replaces that feature's level.
	Features map[string]int16 `json:"features,omitempty"`
	// Token is a delegation token created or renewed (type token_set);
	// TokenID names one removed (type token_remove).
	Token   *DelegationToken `json:"token,omitempty"`
	TokenID string           `json:"token_id,omitempty"`
}

// DelegationToken is one delegation token (KIP-48) as the metadata log keeps
// it: without its HMAC, which the broker's secret recomputes from the id, as
// Kafka's DelegationTokenRecord does. Times are Unix milliseconds; principals
// are "User:name".
type DelegationToken struct {
	ID        string   `json:"id"`
	Owner     string   `json:"owner"`
	Requester string   `json:"requester"`
	Renewers  []string `json:"renewers,omitempty"`
	Issued    int64    `json:"issued"`
	Expiry    int64    `json:"expiry"`
	Max       int64    `json:"max"`
}

// producerIDBlock is how many producer ids one metadata event reserves.
const producerIDBlock = 1000

// Store is the topic catalogue. It is safe for concurrent use.
type Store struct {
	mu        sync.RWMutex
	log       *storage.Log
	clusterID string
	topics    map[string]*Topic
	byID      map[TopicID]*Topic
	// Producer ids in [nextPID, reservedPID) may be handed out; ids below
	// reservedPID are never reused, even after a crash.
	nextPID, reservedPID int64
	// scram holds SCRAM credentials by user, then mechanism.
	scram map[string]map[string]security.ScramCredential
	// acls is the current ACL set, replaced (never modified) on every
	// change so the authorizer reads it without a lock.
	acls atomic.Pointer[acl.Set]
	// quotas is the current client quota set, replaced the same way.
	quotas atomic.Pointer[quota.Set]
	// brokerConfigs holds the dynamic broker configs by scope (a node id,
	// or "" for the cluster default).
	brokerConfigs map[string]map[string]string
	// groupConfigs holds the group configs (KIP-848 timeouts) by group id.
	groupConfigs map[string]map[string]string
	// features holds the feature levels UpdateFeatures finalized; a feature
	// never updated is absent (its default is the handler's to know).
	features map[string]int16
	// tokens holds the delegation tokens by id.
	tokens map[string]DelegationToken
}

// Open replays the metadata log in dir, creating it (and a cluster id) if new.
func Open(fs vfs.FS, dir string, logger *slog.Logger) (*Store, error) {
	l, err := storage.Open(dir, storage.Options{
		FS: fs, Logger: logger, Now: time.Now,
		SegmentBytes: 64 << 20, SegmentMs: 1 << 62, IndexIntervalBytes: 4096,
		RetentionBytes: -1, RetentionMs: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("open metadata log: %w", err)
	}
	s := &Store{log: l, topics: map[string]*Topic{}, byID: map[TopicID]*Topic{},
		scram: map[string]map[string]security.ScramCredential{}, brokerConfigs: map[string]map[string]string{},
		groupConfigs: map[string]map[string]string{}, features: map[string]int16{}, tokens: map[string]DelegationToken{}}
	s.acls.Store(acl.NewSet(nil))
	s.quotas.Store(quota.NewSet(nil))
	if err := s.replay(); err != nil {
		l.Close()
		return nil, err
	}
	// Ids of the last reserved block may have been handed out before a
	// restart: never reuse them.
	s.nextPID = s.reservedPID
	if s.clusterID == "" {
		var id [16]byte
		_, _ = rand.Read(id[:])
		if err := s.appendLocked(event{Type: "cluster", ClusterID: base64.RawURLEncoding.EncodeToString(id[:])}); err != nil {
			l.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) replay() error {
	for off := s.log.StartOffset(); off < s.log.EndOffset(); {
		data, err := s.log.Read(off, 1<<20, s.log.EndOffset())
		if err != nil {
			return fmt.Errorf("replay metadata at %d: %w", off, err)
		}
		if len(data) == 0 {
			break
		}
		batches, err := record.Split(data)
		if err != nil {
			return fmt.Errorf("replay metadata at %d: %w", off, err)
		}
		for _, b := range batches {
			h, err := record.ParseHeader(b)
			if err != nil {
				return err
			}
			recs, err := record.Records(b)
			if err != nil {
				return fmt.Errorf("replay metadata batch %d: %w", h.BaseOffset, err)
			}
			for _, r := range recs {
				var ev event
				if err := json.Unmarshal(r.Value, &ev); err != nil {
					return fmt.Errorf("replay metadata record at %d: %w", h.BaseOffset+int64(r.OffsetDelta), err)
				}
				s.apply(ev)
			}
			off = h.NextOffset()
		}
	}
	return nil
}

func (s *Store) apply(ev event) {
	switch ev.Type {
	case "cluster":
		s.clusterID = ev.ClusterID
	case "create":
		t := &Topic{Name: ev.Topic, ID: *ev.ID, Partitions: ev.Partitions, Configs: ev.Configs, Internal: ev.Internal}
		if t.Configs == nil {
			t.Configs = map[string]string{}
		}
		s.topics[t.Name] = t
		s.byID[t.ID] = t
	case "delete":
		if t, ok := s.topics[ev.Topic]; ok {
			delete(s.byID, t.ID)
			delete(s.topics, ev.Topic)
		}
	case "configs":
		if t, ok := s.topics[ev.Topic]; ok {
			t.Configs = ev.Configs
			if t.Configs == nil {
				t.Configs = map[string]string{}
			}
		}
	case "producer_ids":
		s.nextPID, s.reservedPID = s.reservedPID, ev.ProducerIDsUpTo
	case "partitions":
		if t, ok := s.topics[ev.Topic]; ok {
			t.Partitions = ev.Partitions
		}
	case "scram_set":
		if ev.Scram != nil {
			if s.scram[ev.User] == nil {
				s.scram[ev.User] = map[string]security.ScramCredential{}
			}
			s.scram[ev.User][ev.Mechanism] = *ev.Scram
		}
	case "scram_delete":
		delete(s.scram[ev.User], ev.Mechanism)
		if len(s.scram[ev.User]) == 0 {
			delete(s.scram, ev.User)
		}
	case "acl_create":
		s.acls.Store(acl.NewSet(append(slices.Clone(s.acls.Load().All()), ev.ACLs...)))
	case "acl_delete":
		gone := acl.NewSet(ev.ACLs)
		s.acls.Store(acl.NewSet(slices.DeleteFunc(slices.Clone(s.acls.Load().All()), gone.Contains)))
	case "quota_alter":
		s.quotas.Store(s.quotas.Load().With(ev.QuotaEntity, ev.QuotaOps))
	case "broker_configs":
		if len(ev.Configs) == 0 {
			delete(s.brokerConfigs, ev.BrokerScope)
		} else {
			s.brokerConfigs[ev.BrokerScope] = ev.Configs
		}
	case "group_configs":
		if len(ev.Configs) == 0 {
			delete(s.groupConfigs, ev.Group)
		} else {
			s.groupConfigs[ev.Group] = ev.Configs
		}
	case "features":
		maps.Copy(s.features, ev.Features)
	case "token_set":
		if ev.Token != nil {
			s.tokens[ev.Token.ID] = *ev.Token
		}
	case "token_remove":
		delete(s.tokens, ev.TokenID)
	}
}

// appendLocked makes ev durable in the metadata log, then applies it.
// s.mu must be held for writing (or the store not yet shared).
func (s *Store) appendLocked(ev event) error {
	val, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	batch := record.Build(record.BatchSpec{
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Timestamp: time.Now().UnixMilli(),
		Records:   []record.RecordSpec{{Value: val}},
	})
	if _, err := s.log.Append(batch, 0); err != nil {
		return fmt.Errorf("append metadata: %w", err)
	}
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("sync metadata: %w", err)
	}
	s.apply(ev)
	return nil
}

// ClusterID returns the cluster's id.
func (s *Store) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clusterID
}

func copyTopic(t *Topic) Topic {
	c := *t
	c.Configs = maps.Clone(t.Configs)
	return c
}

// Topic returns the named topic.
func (s *Store) Topic(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, false
	}
	return copyTopic(t), true
}

// TopicName returns the name of the topic with the given id. Unlike
// TopicByID it copies nothing: Fetch v13+ resolves ids on every request.
func (s *Store) TopicName(id TopicID) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.byID[id]
	if !ok {
		return "", false
	}
	return t.Name, true
}

// TopicByID returns the topic with the given id.
func (s *Store) TopicByID(id TopicID) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.byID[id]
	if !ok {
		return Topic{}, false
	}
	return copyTopic(t), true
}

// Topics returns every topic sorted by name.
func (s *Store) Topics() []Topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Topic, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, copyTopic(t))
	}
	slices.SortFunc(out, func(a, b Topic) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// CreateTopic records a new topic with a fresh topic id.
func (s *Store) CreateTopic(name string, partitions int32, configs map[string]string, internal bool) (Topic, error) {
	if partitions <= 0 {
		return Topic{}, fmt.Errorf("%w: %d", ErrInvalidPartition, partitions)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; ok {
		return Topic{}, fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	var id TopicID
	for {
		_, _ = rand.Read(id[:])
		if _, taken := s.byID[id]; !taken && id != (TopicID{}) {
			break
		}
	}
	if err := s.appendLocked(event{Type: "create", Topic: name, ID: &id, Partitions: partitions, Configs: configs, Internal: internal}); err != nil {
		return Topic{}, err
	}
	return copyTopic(s.topics[name]), nil
}

// DeleteTopic removes a topic.
func (s *Store) DeleteTopic(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return s.appendLocked(event{Type: "delete", Topic: name})
}

// SetConfigs replaces a topic's config overrides.
func (s *Store) SetConfigs(name string, configs map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return s.appendLocked(event{Type: "configs", Topic: name, Configs: configs})
}

// SetPartitions raises a topic's partition count.
func (s *Store) SetPartitions(name string, count int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if count <= t.Partitions {
		return fmt.Errorf("%w: topic %s has %d partitions, cannot set %d", ErrInvalidPartition, name, t.Partitions, count)
	}
	return s.appendLocked(event{Type: "partitions", Topic: name, Partitions: count})
}

// NextProducerID returns a producer id never handed out before, reserving
// ids in blocks through the metadata log.
func (s *Store) NextProducerID() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextPID >= s.reservedPID {
		if err := s.appendLocked(event{Type: "producer_ids", ProducerIDsUpTo: s.reservedPID + producerIDBlock}); err != nil {
			return 0, err
		}
	}
	id := s.nextPID
	s.nextPID++
	return id, nil
}

// ErrUnknownCredential means a user has no SCRAM credential for a mechanism.
var ErrUnknownCredential = errors.New("no such SCRAM credential")

// SetScramCredential stores (or replaces) user's credential for mechanism.
func (s *Store) SetScramCredential(user, mechanism string, c security.ScramCredential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "scram_set", User: user, Mechanism: mechanism, Scram: &c})
}

// DeleteScramCredential removes user's credential for mechanism.
func (s *Store) DeleteScramCredential(user, mechanism string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.scram[user][mechanism]; !ok {
		return fmt.Errorf("%w: %s for user %q", ErrUnknownCredential, mechanism, user)
	}
	return s.appendLocked(event{Type: "scram_delete", User: user, Mechanism: mechanism})
}

// ScramCredential returns user's credential for mechanism (it implements
// security.CredentialStore).
func (s *Store) ScramCredential(user, mechanism string) (security.ScramCredential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.scram[user][mechanism]
	return c, ok
}

// ScramUsers returns every user with a SCRAM credential and, per user, the
// iterations of each mechanism.
func (s *Store) ScramUsers() map[string]map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]map[string]int, len(s.scram))
	for user, creds := range s.scram {
		out[user] = make(map[string]int, len(creds))
		for mech, c := range creds {
			out[user][mech] = c.Iterations
		}
	}
	return out
}

// ACLs returns the current ACL bindings. It takes no lock: the set is
// immutable and replaced on every change.
func (s *Store) ACLs() *acl.Set { return s.acls.Load() }

// CreateACLs stores bindings (validated by the caller) in one event, so
// either all of them survive a crash or none do. Bindings that already
// exist are kept once.
func (s *Store) CreateACLs(bindings []acl.Binding) error {
	if len(bindings) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "acl_create", ACLs: bindings})
}

// DeleteACLs removes every binding a filter matches, in one event, and
// returns, per filter, the bindings it matched.
func (s *Store) DeleteACLs(filters []acl.Filter) ([][]acl.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	current := s.acls.Load()
	matched := make([][]acl.Binding, len(filters))
	var gone []acl.Binding
	for i, f := range filters {
		matched[i] = current.Select(f)
		gone = append(gone, matched[i]...)
	}
	if len(gone) == 0 {
		return matched, nil
	}
	if err := s.appendLocked(event{Type: "acl_delete", ACLs: gone}); err != nil {
		return nil, err
	}
	return matched, nil
}

// ClientQuotas returns the current client quotas; the set is immutable.
func (s *Store) ClientQuotas() *quota.Set { return s.quotas.Load() }

// AlterClientQuotas applies ops (already checked with quota.CheckOps) to
// entity's quotas durably.
func (s *Store) AlterClientQuotas(entity quota.Entity, ops []quota.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "quota_alter", QuotaEntity: entity, QuotaOps: ops})
}

// BrokerConfigs returns a copy of the dynamic broker configs of scope (a
// node id, or "" for the cluster-wide defaults).
func (s *Store) BrokerConfigs(scope string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.brokerConfigs[scope])
}

// SetBrokerConfigs durably replaces scope's dynamic broker configs (already
// checked with config.Broker.CheckDynamic); an empty map removes them all.
func (s *Store) SetBrokerConfigs(scope string, configs map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "broker_configs", BrokerScope: scope, Configs: maps.Clone(configs)})
}

// GroupConfigs returns a copy of a group's configs (nil if it has none).
func (s *Store) GroupConfigs(group string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.groupConfigs[group])
}

// GroupsWithConfigs returns the ids of the groups that have configs,
// sorted.
func (s *Store) GroupsWithConfigs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.groupConfigs))
}

// SetGroupConfigs durably replaces a group's configs (already checked with
// config.ValidateGroupConfigs); an empty map removes them all.
func (s *Store) SetGroupConfigs(group string, configs map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "group_configs", Group: group, Configs: maps.Clone(configs)})
}

// Features returns the feature levels finalized by UpdateFeatures (only the
// features ever updated) and the metadata epoch they were read at: the
// offset of the last metadata record, as Kafka's finalized features epoch.
func (s *Store) Features() (map[string]int16, int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.features), s.log.EndOffset() - 1
}

// FeatureLevel returns one feature's level as UpdateFeatures last
// finalized it, if it ever did.
func (s *Store) FeatureLevel(name string) (int16, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.features[name]
	return l, ok
}

// UpdateFeatures finalizes new feature levels in one metadata record, if
// check accepts them against the current ones (as Features returns them);
// check's error is returned as it is. Check and write are atomic with
// respect to other updates.
func (s *Store) UpdateFeatures(levels map[string]int16, check func(current map[string]int16) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := check(maps.Clone(s.features)); err != nil {
		return err
	}
	if len(levels) == 0 {
		return nil
	}
	return s.appendLocked(event{Type: "features", Features: maps.Clone(levels)})
}

// Close closes the metadata log.
func (s *Store) Close() error { return s.log.Close() }

// SetDelegationToken stores a delegation token, new or renewed.
func (s *Store) SetDelegationToken(t DelegationToken) error {
	t.Renewers = slices.Clone(t.Renewers)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(event{Type: "token_set", Token: &t})
}

// RemoveDelegationToken forgets the delegation token id (a no-op for an id
// it does not know).
func (s *Store) RemoveDelegationToken(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[id]; !ok {
		return nil
	}
	return s.appendLocked(event{Type: "token_remove", TokenID: id})
}

// DelegationToken returns the delegation token id.
func (s *Store) DelegationToken(id string) (DelegationToken, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tokens[id]
	t.Renewers = slices.Clone(t.Renewers)
	return t, ok
}

// DelegationTokens returns every delegation token, by id.
func (s *Store) DelegationTokens() []DelegationToken {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]DelegationToken, 0, len(s.tokens))
	for _, t := range s.tokens {
		t.Renewers = slices.Clone(t.Renewers)
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b DelegationToken) int { return strings.Compare(a.ID, b.ID) })
	return out
}
