package txn

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Info describes one transactional id, for DescribeTransactions and
// ListTransactions.
type Info struct {
	ID         string
	ProducerID int64
	Epoch      int16
	Timeout    time.Duration
	State      kmsg.TransactionState
	Started    time.Time // zero unless a transaction is open
	Partitions []TopicPartition
}

func (st *state) info() Info {
	in := Info{ID: st.id, ProducerID: st.producerID, Epoch: st.epoch, Timeout: st.timeout, State: st.status, Started: st.started}
	for tp := range st.partitions {
		in.Partitions = append(in.Partitions, tp)
	}
	sort.Slice(in.Partitions, func(i, j int) bool {
		a, b := in.Partitions[i], in.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return in
}

// Describe returns the state of txnID; ok is false when it is unknown.
func (c *Coordinator) Describe(txnID string) (info Info, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return Info{}, false, ErrLoading
	}
	e := c.txns[txnID]
	if e == nil || e.st.producerID < 0 {
		return Info{}, false, nil
	}
	return e.st.info(), true, nil
}

// List returns every known transactional id, sorted by id.
func (c *Coordinator) List() ([]Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return nil, ErrLoading
	}
	out := make([]Info, 0, len(c.txns))
	for _, e := range c.txns {
		if e.st.producerID >= 0 {
			out = append(out, e.st.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
