package record

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrNotMarker means a batch is not a transaction marker.
var ErrNotMarker = errors.New("not a transaction marker")

// BuildControl encodes the control batch that ends a transaction on one
// partition: a COMMIT or ABORT marker for producerID at epoch, as Kafka's
// transaction coordinator writes it (transactional and control attributes,
// one record whose key is the marker type and whose value is the
// coordinator epoch).
func BuildControl(producerID int64, epoch int16, commit bool, coordinatorEpoch int32, timestampMs int64) []byte {
	key := kmsg.NewControlRecordKey()
	key.Type = kmsg.ControlRecordKeyTypeAbort
	if commit {
		key.Type = kmsg.ControlRecordKeyTypeCommit
	}
	value := kmsg.NewEndTxnMarker()
	value.CoordinatorEpoch = coordinatorEpoch
	return Build(BatchSpec{
		ProducerID:    producerID,
		ProducerEpoch: epoch,
		BaseSequence:  -1,
		Transactional: true,
		Control:       true,
		Timestamp:     timestampMs,
		Records:       []RecordSpec{{Key: key.AppendTo(nil), Value: value.AppendTo(nil)}},
	})
}

// MarkerType reports whether a control batch is a COMMIT (true) or ABORT
// (false) marker. Other control records (KIP-996 leader changes, snapshot
// headers) and compressed batches return ErrNotMarker.
func MarkerType(batch []byte) (commit bool, err error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return false, err
	}
	if !h.IsControl() {
		return false, ErrNotMarker
	}
	recs, err := Records(batch)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrNotMarker, err)
	}
	if len(recs) != 1 {
		return false, fmt.Errorf("%w: %d control records", ErrNotMarker, len(recs))
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(recs[0].Key); err != nil {
		return false, fmt.Errorf("%w: control key: %v", ErrNotMarker, err)
	}
	switch key.Type {
	case kmsg.ControlRecordKeyTypeCommit:
		return true, nil
	case kmsg.ControlRecordKeyTypeAbort:
		return false, nil
	}
	return false, fmt.Errorf("%w: control type %d", ErrNotMarker, key.Type)
}
