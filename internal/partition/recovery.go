package partition

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/samsa-broker/samsa/internal/producerstate"
	"github.com/samsa-broker/samsa/internal/record"
)

// recoverProducers rebuilds idempotent producer state: load the newest
// snapshot at or below the log end (written at clean shutdown), then replay
// batch headers after it. Without a usable snapshot the whole log is
// replayed, so a crash never loses deduplication state for retained batches.
func (p *Partition) recoverProducers() error {
	p.producers = producerstate.New()
	from := p.log.StartOffset()
	snaps, err := p.listSnapshots()
	if err != nil {
		return err
	}
	end := p.log.EndOffset()
	for i := len(snaps) - 1; i >= 0; i-- {
		if snaps[i] > end {
			continue
		}
		st, off, err := p.readSnapshot(snaps[i])
		if err != nil {
			p.logger.Warn("ignoring producer state snapshot", "offset", snaps[i], "err", err)
			continue
		}
		p.producers, from = st, off
		p.producers.TruncateFrom(end)
		break
	}
	if from < p.log.StartOffset() {
		from = p.log.StartOffset()
	}
	err = p.log.ScanHeaders(from, func(h record.Header, control []byte) bool {
		if h.BaseOffset < from || h.ProducerID < 0 {
			return true
		}
		if !h.IsControl() {
			p.producers.Update(h, h.BaseOffset)
			return true
		}
		commit, err := record.MarkerType(control)
		if err != nil {
			// Not a transaction marker (Kafka writes other control
			// records in KRaft logs): it ends nothing.
			p.logger.Warn("ignoring control batch", "offset", h.BaseOffset, "err", err)
			return true
		}
		p.producers.UpdateMarker(h, h.BaseOffset, commit)
		return true
	})
	if err != nil {
		return fmt.Errorf("rebuild producer state of %s-%d: %w", p.Topic, p.Index, err)
	}
	p.producers.PruneAborted(p.log.StartOffset())
	p.publishAbortedLocked()
	p.firstUnstable.Store(p.producers.FirstUnstableOffset())
	// Old snapshots are no longer needed once state is rebuilt.
	for _, off := range snaps {
		_ = p.fs.Remove(p.snapshotPath(off))
	}
	return nil
}

func (p *Partition) listSnapshots() ([]int64, error) {
	names, err := p.fs.ReadDir(p.log.Dir())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.log.Dir(), err)
	}
	var offs []int64
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".snapshot")
		if !ok {
			continue
		}
		if off, err := strconv.ParseInt(base, 10, 64); err == nil {
			offs = append(offs, off)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs, nil
}

func (p *Partition) readSnapshot(offset int64) (*producerstate.State, int64, error) {
	f, err := p.fs.Open(p.snapshotPath(offset))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, 0, err
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	return producerstate.DecodeSnapshot(buf)
}

// writeSnapshotLocked persists producer state as of the log end.
// p.appendMu must be held.
func (p *Partition) writeSnapshotLocked() error {
	if p.producers.Empty() {
		return nil
	}
	end := p.log.EndOffset()
	name := p.snapshotPath(end)
	tmp := name + ".tmp"
	f, err := p.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("write producer snapshot: %w", err)
	}
	if _, err := f.Write(p.producers.EncodeSnapshot(end)); err != nil {
		f.Close()
		return fmt.Errorf("write producer snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync producer snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := p.fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("install producer snapshot: %w", err)
	}
	return p.fs.SyncDir(p.log.Dir())
}
