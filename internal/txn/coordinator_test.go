package txn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// memLog is a Log in memory, shared by coordinators to simulate restarts.
type memLog struct {
	mu      sync.Mutex
	records map[int32][][2][]byte
	fail    error
}

func (l *memLog) Append(_ context.Context, p int32, key, value []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if l.records == nil {
		l.records = map[int32][][2][]byte{}
	}
	l.records[p] = append(l.records[p], [2][]byte{key, value})
	return nil
}

func (l *memLog) Replay(_ context.Context, p int32, fn func(key, value []byte) error) error {
	l.mu.Lock()
	recs := slices.Clone(l.records[p])
	l.mu.Unlock()
	for _, r := range recs {
		if err := fn(r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}

// marker is one WriteMarker call.
type marker struct {
	tp     TopicPartition
	pid    int64
	epoch  int16
	commit bool
}

type fakeMarkers struct {
	mu      sync.Mutex
	written []marker
	fail    error
}

func (m *fakeMarkers) WriteMarker(_ context.Context, topic string, p int32, pid int64, epoch int16, commit bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.written = append(m.written, marker{TopicPartition{topic, p}, pid, epoch, commit})
	return nil
}

func (m *fakeMarkers) take() []marker {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.written
	m.written = nil
	return out
}

type counterIDs struct {
	mu   sync.Mutex
	next int64
}

func (c *counterIDs) NextProducerID() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.next, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t       *testing.T
	log     *memLog
	markers *fakeMarkers
	ids     *counterIDs
	clock   *clock
	c       *Coordinator
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, log: &memLog{}, markers: &fakeMarkers{}, ids: &counterIDs{}, clock: &clock{now: time.UnixMilli(1_700_000_000_000)}}
	h.restart()
	return h
}

// restart replaces the coordinator with a new one over the same log, as a
// broker restart does. The timeout loop does not run: tests call expire.
func (h *harness) restart() {
	if h.c != nil {
		h.c.Close()
	}
	h.c = New(Config{Partitions: 3, MaxTimeout: time.Minute, AbortInterval: time.Hour, IDExpiration: 24 * time.Hour, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h.log, h.markers, h.ids)
	if !h.c.load() {
		h.t.Fatal("load failed")
	}
	h.t.Cleanup(h.c.Close)
}

func (h *harness) init(id string) (int64, int16) {
	h.t.Helper()
	pid, epoch, err := h.c.InitProducerID(context.Background(), id, 10*time.Second, -1, -1)
	if err != nil {
		h.t.Fatalf("InitProducerID(%s): %v", id, err)
	}
	return pid, epoch
}

// end is EndTxn of transaction protocol v0/v1, its error only.
func (h *harness) end(ctx context.Context, id string, pid int64, epoch int16, commit bool) error {
	_, _, err := h.c.EndTxn(ctx, id, pid, epoch, commit, false)
	return err
}

func (h *harness) state(id string) kmsg.TransactionState {
	h.t.Helper()
	info, ok, err := h.c.Describe(id)
	if err != nil || !ok {
		h.t.Fatalf("Describe(%s): ok %v err %v", id, ok, err)
	}
	return info.State
}

var (
	tpA = TopicPartition{"orders", 0}
	tpB = TopicPartition{"orders", 1}
)

func TestCommitAndAbortWriteMarkers(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(verb(commit), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			pid, epoch := h.init("tx")
			if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpB, tpA}, false); err != nil {
				t.Fatal(err)
			}
			if got := h.state("tx"); got != kmsg.TransactionStateOngoing {
				t.Fatalf("state after AddPartitions = %s", got)
			}
			if err := h.c.Verify(pid, epoch, tpA); err != nil {
				t.Fatalf("Verify of an added partition: %v", err)
			}
			if err := h.c.Verify(pid, epoch, TopicPartition{"orders", 2}); !errors.Is(err, ErrInvalidState) {
				t.Fatalf("Verify of a partition not added: %v", err)
			}
			if err := h.end(ctx, "tx", pid, epoch, commit); err != nil {
				t.Fatal(err)
			}
			want := []marker{{tpA, pid, epoch, commit}, {tpB, pid, epoch, commit}}
			if got := h.markers.take(); !slices.Equal(got, want) {
				t.Fatalf("markers %+v, want %+v", got, want)
			}
			wantState := kmsg.TransactionStateCompleteAbort
			if commit {
				wantState = kmsg.TransactionStateCompleteCommit
			}
			if got := h.state("tx"); got != wantState {
				t.Fatalf("state after EndTxn = %s, want %s", got, wantState)
			}
			// A retry of the same decision succeeds without new markers;
			// the opposite decision is refused.
			if err := h.end(ctx, "tx", pid, epoch, commit); err != nil {
				t.Fatalf("retried EndTxn: %v", err)
			}
			if err := h.end(ctx, "tx", pid, epoch, !commit); !errors.Is(err, ErrInvalidState) {
				t.Fatalf("opposite EndTxn: %v", err)
			}
			if got := h.markers.take(); len(got) != 0 {
				t.Fatalf("retries wrote markers: %+v", got)
			}
			if err := h.c.Verify(pid, epoch, tpA); !errors.Is(err, ErrInvalidState) {
				t.Fatalf("Verify after the transaction ended: %v", err)
			}
		})
	}
}

func TestRequestsAreChecked(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"add: unknown transactional id", h.c.AddPartitions(ctx, "nope", pid, epoch, []TopicPartition{tpA}, false), ErrUnknownProducerID},
		{"add: wrong producer id", h.c.AddPartitions(ctx, "tx", pid+1, epoch, []TopicPartition{tpA}, false), ErrUnknownProducerID},
		{"add: old epoch", h.c.AddPartitions(ctx, "tx", pid, epoch-1, []TopicPartition{tpA}, false), ErrProducerFenced},
		{"end: nothing open", h.end(ctx, "tx", pid, epoch, true), ErrInvalidState},
		{"end: wrong epoch", h.end(ctx, "tx", pid, epoch+1, true), ErrProducerFenced},
		{"verify: unknown producer", h.c.Verify(99, 0, tpA), ErrUnknownProducerID},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	for _, timeout := range []time.Duration{0, -time.Second, 2 * time.Minute} {
		if _, _, err := h.c.InitProducerID(ctx, "tx", timeout, -1, -1); !errors.Is(err, ErrInvalidTimeout) {
			t.Errorf("timeout %s: err %v", timeout, err)
		}
	}
	// A v3+ bump naming an instance that is not the current one is fenced.
	if _, _, err := h.c.InitProducerID(ctx, "tx", time.Second, pid, epoch+3); !errors.Is(err, ErrProducerFenced) {
		t.Errorf("bump from a stale instance: err %v", err)
	}
	if p2, e2, err := h.c.InitProducerID(ctx, "tx", time.Second, pid, epoch); err != nil || p2 != pid || e2 != epoch+1 {
		t.Errorf("bump from the current instance: %d/%d %v", p2, e2, err)
	}
}

// TestNewInstanceFencesAndAborts: a second InitProducerId keeps the
// producer id, bumps the epoch, and aborts what the first instance left
// open under a bumped epoch, so the first instance can no longer write.
func TestNewInstanceFencesAndAborts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, false); err != nil {
		t.Fatal(err)
	}
	pid2, epoch2 := h.init("tx")
	if pid2 != pid || epoch2 <= epoch+1 {
		t.Fatalf("second instance got %d/%d after %d/%d", pid2, epoch2, pid, epoch)
	}
	if got := h.markers.take(); len(got) != 1 || got[0].commit || got[0].epoch <= epoch || got[0].tp != tpA {
		t.Fatalf("fencing abort markers: %+v", got)
	}
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, false); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("the fenced instance added a partition: %v", err)
	}
	if err := h.c.Verify(pid, epoch, tpA); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("the fenced instance may produce: %v", err)
	}
}

func TestTimedOutTransactionIsAborted(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx") // 10 s timeout
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, false); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(5 * time.Second)
	h.c.expire()
	if got := h.state("tx"); got != kmsg.TransactionStateOngoing {
		t.Fatalf("aborted before its timeout: %s", got)
	}
	h.clock.advance(6 * time.Second)
	h.c.expire()
	if got := h.state("tx"); got != kmsg.TransactionStateCompleteAbort {
		t.Fatalf("state after the timeout = %s", got)
	}
	if got := h.markers.take(); len(got) != 1 || got[0].commit || got[0].epoch != epoch+1 {
		t.Fatalf("timeout markers: %+v", got)
	}
	if err := h.end(ctx, "tx", pid, epoch, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("commit after the timeout abort: %v", err)
	}
}

// TestRestartCompletesInterruptedCommit: markers fail after PrepareCommit
// is logged; a restarted coordinator finds the Prepare state and writes
// the markers, and the state survives the restart.
func TestRestartCompletesInterruptedCommit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA, tpB}, false); err != nil {
		t.Fatal(err)
	}
	h.markers.fail = errors.New("disk full")
	if err := h.end(ctx, "tx", pid, epoch, true); !errors.Is(err, ErrStorage) {
		t.Fatalf("EndTxn with failing markers: %v", err)
	}
	if err := h.end(ctx, "tx", pid, epoch, true); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("EndTxn while completing: %v", err)
	}
	h.markers.fail = nil
	h.restart()
	if got := h.state("tx"); got != kmsg.TransactionStatePrepareCommit {
		t.Fatalf("state after restart = %s", got)
	}
	h.c.expire()
	if got := h.state("tx"); got != kmsg.TransactionStateCompleteCommit {
		t.Fatalf("state after completion = %s", got)
	}
	if got := h.markers.take(); len(got) != 2 || !got[0].commit || !got[1].commit {
		t.Fatalf("completion markers: %+v", got)
	}
	if err := h.end(ctx, "tx", pid, epoch, true); err != nil {
		t.Fatalf("client retry after completion: %v", err)
	}
	h.restart()
	info, ok, err := h.c.Describe("tx")
	if err != nil || !ok || info.ProducerID != pid || info.Epoch != epoch || info.State != kmsg.TransactionStateCompleteCommit || info.Timeout != 10*time.Second {
		t.Fatalf("after a second restart: %+v ok %v err %v", info, ok, err)
	}
	if pid2, epoch2 := h.init("tx"); pid2 != pid || epoch2 != epoch+1 {
		t.Fatalf("init after restart: %d/%d", pid2, epoch2)
	}
}

func TestFailedLogWriteChangesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx")
	h.log.fail = errors.New("disk full")
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, false); !errors.Is(err, ErrStorage) {
		t.Fatalf("AddPartitions with a failing log: %v", err)
	}
	if got := h.state("tx"); got != kmsg.TransactionStateEmpty {
		t.Fatalf("state changed without being logged: %s", got)
	}
}

func TestListAndPartitionFor(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.init(fmt.Sprintf("tx-%d", i))
	}
	list, err := h.c.List()
	if err != nil || len(list) != 5 || list[0].ID != "tx-0" || list[4].ID != "tx-4" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// Kafka's placement: abs(hashCode) % partitions.
	if got := partitionFor("my-txn", 50); got != 45 { // hashCode -1061187895
		t.Fatalf("partitionFor(my-txn) = %d", got)
	}
}

// FuzzDecodeRecord: arbitrary __transaction_state bytes never panic, and a
// record that decodes re-encodes to one that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	st := state{id: "tx", producerID: 3, epoch: 1, timeout: time.Second, status: kmsg.TransactionStateOngoing,
		partitions: map[TopicPartition]struct{}{tpA: {}}, started: time.UnixMilli(5), updated: time.UnixMilli(6)}
	k, v := encodeRecord(&st)
	f.Add(k, v)
	f.Add(k, []byte(nil))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		_, got, ok, err := decodeRecord(key, value)
		if err != nil || !ok {
			return
		}
		k2, v2 := encodeRecord(&got)
		_, again, ok, err := decodeRecord(k2, v2)
		if err != nil || !ok || again.info().ID != got.info().ID || len(again.partitions) != len(got.partitions) || again.status != got.status {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

// TestTransactionalIDExpires: an id idle for transactional.id.expiration.ms
// with no transaction open is forgotten, and stays forgotten after a
// restart; one with a transaction open is kept however old.
func TestTransactionalIDExpires(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	idlePID, idleEpoch := h.init("idle")
	openPID, openEpoch := h.init("open")
	if err := h.c.AddPartitions(ctx, "open", openPID, openEpoch, []TopicPartition{tpA}, false); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(23 * time.Hour)
	h.init("recent")
	h.c.removeExpiredIDs()
	if _, ok, _ := h.c.Describe("idle"); !ok {
		t.Fatal("id expired before transactional.id.expiration.ms")
	}
	h.clock.advance(2 * time.Hour)
	h.c.removeExpiredIDs()
	if _, ok, _ := h.c.Describe("idle"); ok {
		t.Fatal("idle id kept after transactional.id.expiration.ms")
	}
	for _, id := range []string{"open", "recent"} {
		if _, ok, _ := h.c.Describe(id); !ok {
			t.Fatalf("%s expired", id)
		}
	}
	if err := h.c.AddPartitions(ctx, "idle", idlePID, idleEpoch, []TopicPartition{tpB}, false); !errors.Is(err, ErrUnknownProducerID) {
		t.Fatalf("AddPartitions of the expired id: %v", err)
	}
	h.restart()
	if _, ok, _ := h.c.Describe("idle"); ok {
		t.Fatal("expired id back after a restart")
	}
	if pid, _ := h.init("idle"); pid == idlePID {
		t.Fatalf("the expired id got its old producer id %d back", pid)
	}
}

// TestProtocolV2EndBumpsEpoch: under transaction protocol v2 partitions join
// on first write, every EndTxn bumps the epoch (its markers carry the new
// one), a retry of a lost EndTxn response is answered with the new epoch,
// and an abort with nothing open is allowed.
func TestProtocolV2EndBumpsEpoch(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, true); err != nil {
		t.Fatal(err)
	}
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA, tpB}, true); err != nil {
		t.Fatal(err)
	}
	gotPID, gotEpoch, err := h.c.EndTxn(ctx, "tx", pid, epoch, true, true)
	if err != nil || gotPID != pid || gotEpoch != epoch+1 {
		t.Fatalf("EndTxn v2 = %d/%d, %v; want %d/%d", gotPID, gotEpoch, err, pid, epoch+1)
	}
	want := []marker{{tpA, pid, epoch + 1, true}, {tpB, pid, epoch + 1, true}}
	if got := h.markers.take(); !slices.Equal(got, want) {
		t.Fatalf("markers = %+v, want %+v", got, want)
	}
	// The old epoch may no longer write: its late data would otherwise
	// land in the next transaction.
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch, []TopicPartition{tpA}, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("add with the old epoch: %v", err)
	}
	for _, tc := range []struct {
		name   string
		commit bool
		want   error
	}{
		{"retried commit", true, nil},
		{"abort of the committed transaction", false, ErrInvalidState},
	} {
		p, e, err := h.c.EndTxn(ctx, "tx", pid, epoch, tc.commit, true)
		if !errors.Is(err, tc.want) || (err == nil && (p != pid || e != epoch+1)) {
			t.Fatalf("%s: %d/%d, %v; want %v", tc.name, p, e, err, tc.want)
		}
	}
	if _, _, err := h.c.EndTxn(ctx, "tx", pid, epoch+1, true, true); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("commit with nothing open: %v", err)
	}
	p, e, err := h.c.EndTxn(ctx, "tx", pid, epoch+1, false, true)
	if err != nil || p != pid || e != epoch+2 {
		t.Fatalf("abort with nothing open = %d/%d, %v; want %d/%d", p, e, err, pid, epoch+2)
	}
	if got := h.markers.take(); len(got) != 0 {
		t.Fatalf("an empty abort wrote markers: %+v", got)
	}
	if err := h.c.AddPartitions(ctx, "tx", pid, epoch+2, []TopicPartition{tpB}, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.c.EndTxn(ctx, "tx", pid, epoch+1, false, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("the previous epoch's abort while a transaction is open: %v", err)
	}
	h.restart()
	info, _, _ := h.c.Describe("tx")
	if info.State != kmsg.TransactionStateOngoing || info.Epoch != epoch+2 || len(info.Partitions) != 1 {
		t.Fatalf("after restart: %+v", info)
	}
	// A timeout aborts with a bump: the producer's commit is fenced, its
	// abort is taken as the retry of one that happened.
	h.clock.advance(11 * time.Second)
	h.c.expire()
	if got := h.markers.take(); len(got) != 1 || got[0].commit || got[0].epoch != epoch+3 {
		t.Fatalf("timeout markers: %+v", got)
	}
	if _, _, err := h.c.EndTxn(ctx, "tx", pid, epoch+2, true, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("commit of a timed-out transaction: %v", err)
	}
	if p, e, err := h.c.EndTxn(ctx, "tx", pid, epoch+2, false, true); err != nil || p != pid || e != epoch+3 {
		t.Fatalf("abort of a timed-out transaction = %d/%d, %v", p, e, err)
	}
}

// TestProtocolV2EpochOverflow: the end of a protocol v2 transaction at the
// last usable epoch moves the transactional id to a new producer id, also
// across a restart between its markers and its completion; a retried EndTxn
// of the old id gets the new one.
func TestProtocolV2EpochOverflow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, _ := h.init("tx")
	last := int16(math.MaxInt16 - 1)
	h.c.mu.Lock()
	h.c.txns["tx"].st.epoch = last
	h.c.mu.Unlock()
	if err := h.c.AddPartitions(ctx, "tx", pid, last, []TopicPartition{tpA}, true); err != nil {
		t.Fatal(err)
	}
	h.markers.fail = errors.New("disk full")
	if _, _, err := h.c.EndTxn(ctx, "tx", pid, last, true, true); !errors.Is(err, ErrStorage) {
		t.Fatalf("EndTxn with failing markers: %v", err)
	}
	h.markers.fail = nil
	h.restart()
	h.c.expire()
	if got := h.markers.take(); len(got) != 1 || got[0].pid != pid || got[0].epoch != math.MaxInt16 {
		t.Fatalf("markers = %+v, want producer %d epoch %d", got, pid, math.MaxInt16)
	}
	info, _, _ := h.c.Describe("tx")
	if info.State != kmsg.TransactionStateCompleteCommit || info.ProducerID == pid || info.Epoch != 0 {
		t.Fatalf("after completion: %+v", info)
	}
	h.restart()
	p, e, err := h.c.EndTxn(ctx, "tx", pid, last, true, true)
	if err != nil || p != info.ProducerID || e != 0 {
		t.Fatalf("retry with the old producer id = %d/%d, %v; want %d/0", p, e, err, info.ProducerID)
	}
	if err := h.c.AddPartitions(ctx, "tx", info.ProducerID, 0, []TopicPartition{tpB}, true); err != nil {
		t.Fatalf("the next transaction on the new id: %v", err)
	}
	if err := h.c.AddPartitions(ctx, "tx", pid, last, []TopicPartition{tpB}, true); !errors.Is(err, ErrUnknownProducerID) {
		t.Fatalf("the old id: %v", err)
	}
}
