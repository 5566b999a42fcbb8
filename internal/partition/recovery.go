package partition

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-broker/samsa/internal/producerstate"
	"github.com/samsa-broker/samsa/internal/record"
)

// recoverProducers rebuilds idempotent producer state: load the newest
// snapshot at or below the log end (written when a segment rolls, at start-up
// and at clean shutdown), then replay batch headers after it. Without a
// usable snapshot the whole log is replayed, so a crash never loses
// deduplication state for retained batches. The snapshots matter for the
// batches that are not retained: the cleaner removes batches of closed
// segments, which may be a producer's latest (its state would then go back
// to an older batch, and its next sequence be refused as out of order).
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
	// Old snapshots are no longer needed once state is rebuilt; one as of
	// the recovered end replaces them (Open made that end durable).
	for _, off := range snaps {
		if off != end {
			_ = p.fs.Remove(p.snapshotPath(off))
		}
	}
	if err := p.writeSnapshotLocked(end); err != nil {
		p.logger.Warn("producer state snapshot", "offset", end, "err", err)
	}
	return nil
}

// snapshotsKept is how many snapshots a partition keeps: the newest, and one
// before it in case a crash loses the data the newest one is at.
const snapshotsKept = 2

// snapshotIfRolledLocked snapshots producer state, as of base, when the batch
// just appended at base started a new segment, and removes older snapshots.
// Every segment the cleaner may touch (all but the active one) then lies
// below a snapshot. A failure is logged: it costs recovery only. p.appendMu
// must be held, and the batch not yet applied to p.producers.
func (p *Partition) snapshotIfRolledLocked(base int64) {
	if base != p.log.ActiveSegmentBase() {
		return
	}
	if err := p.writeSnapshotLocked(base); err != nil {
		p.logger.Warn("producer state snapshot", "offset", base, "err", err)
		return
	}
	snaps, err := p.listSnapshots()
	if err != nil {
		p.logger.Warn("list producer state snapshots", "err", err)
		return
	}
	for _, off := range snaps[:max(len(snaps)-snapshotsKept, 0)] {
		if err := p.fs.Remove(p.snapshotPath(off)); err != nil {
			p.logger.Warn("remove producer state snapshot", "offset", off, "err", err)
		}
	}
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
	return producerstate.DecodeSnapshot(buf, time.Now().UnixMilli())
}

// writeSnapshotLocked persists producer state as of offset end, which the
// caller knows it is (the log end, or the base of the batch just appended
// and not yet applied). p.appendMu must be held.
func (p *Partition) writeSnapshotLocked(end int64) error {
	if p.producers.Empty() {
		return nil
	}
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
