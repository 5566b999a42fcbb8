package partition

import (
	"errors"
	"sync"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Manager is the set of partitions this broker hosts.
type Manager struct {
	mu    sync.RWMutex
	parts map[TopicPartition]*Partition
}

// NewManager returns an empty Manager.
func NewManager() *Manager { return &Manager{parts: map[TopicPartition]*Partition{}} }

// Get returns a hosted partition.
func (m *Manager) Get(topic string, index int32) (*Partition, bool) {
	m.mu.RLock()
	p, ok := m.parts[TopicPartition{topic, index}]
	m.mu.RUnlock()
	return p, ok
}

// Add hosts p. An existing partition with the same name is replaced.
func (m *Manager) Add(p *Partition) {
	m.mu.Lock()
	m.parts[TopicPartition{p.Topic, p.Index}] = p
	m.mu.Unlock()
}

// Remove stops hosting a partition and returns it.
func (m *Manager) Remove(topic string, index int32) (*Partition, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tp := TopicPartition{topic, index}
	p, ok := m.parts[tp]
	delete(m.parts, tp)
	return p, ok
}

// All returns every hosted partition.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

// CloseAll closes every partition, returning the first error.
func (m *Manager) CloseAll() error {
	var errs []error
	for _, p := range m.All() {
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
