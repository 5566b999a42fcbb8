package e2e

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// rawConn speaks the Kafka protocol by hand, to send exactly the bytes a test
// needs (replays, corruption, oversize frames).
type rawConn struct {
	t    *testing.T
	c    net.Conn
	corr int32
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// frame builds a request frame for req at its set version.
func (rc *rawConn) frame(req kmsg.Request) []byte {
	rc.corr++
	b := make([]byte, 4, 256)
	b = kbin.AppendInt16(b, req.Key())
	b = kbin.AppendInt16(b, req.GetVersion())
	b = kbin.AppendInt32(b, rc.corr)
	b = kbin.AppendNullableString(b, strPtr("samsa-e2e"))
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func strPtr(s string) *string { return &s }

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// readFrame returns the next response body after the correlation id.
func (rc *rawConn) readFrame() ([]byte, int32, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(rc.c, size[:]); err != nil {
		return nil, 0, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.c, body); err != nil {
		return nil, 0, err
	}
	return body[4:], int32(binary.BigEndian.Uint32(body)), nil
}

// roundTrip sends req and decodes the response.
func (rc *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	rc.t.Helper()
	rc.send(rc.frame(req))
	body, corr, err := rc.readFrame()
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	if corr != rc.corr {
		rc.t.Fatalf("correlation id %d, want %d", corr, rc.corr)
	}
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != 18 {
		r := kbin.Reader{Src: body}
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
		body = r.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		rc.t.Fatalf("decode %T: %v", resp, err)
	}
	return resp
}

func produceRequest(topic string, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func produceResult(t *testing.T, resp kmsg.Response) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	pr := resp.(*kmsg.ProduceResponse)
	if len(pr.Topics) != 1 || len(pr.Topics[0].Partitions) != 1 {
		t.Fatalf("unexpected produce response shape: %+v", pr)
	}
	return pr.Topics[0].Partitions[0]
}

func idempotentBatch(pid int64, seq int32, values ...string) []byte {
	var recs []record.RecordSpec
	for _, v := range values {
		recs = append(recs, record.RecordSpec{Value: []byte(v)})
	}
	return record.Build(record.BatchSpec{
		ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq,
		Timestamp: time.Now().UnixMilli(), Records: recs,
	})
}

func initProducerID(t *testing.T, rc *rawConn) int64 {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(4)
	req.ProducerID, req.ProducerEpoch = -1, -1
	resp := rc.roundTrip(req).(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.ProducerID
}

// listOffset sends ListOffsets at version for partition 0 of topic and
// timestamp ts (or a sentinel: -1 latest, -3 max timestamp, ...).
func listOffset(rc *rawConn, version int16, topic string, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	rc.t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(version)
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, ts, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return rc.roundTrip(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

func endOffset(t *testing.T, rc *rawConn, topic string) int64 {
	t.Helper()
	p := listOffset(rc, 4, topic, -1)
	if p.ErrorCode != 0 {
		t.Fatalf("ListOffsets: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	return p.Offset
}

func TestIdempotentReplayStoredOnce(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "idem", 1, nil)
	rc := dial(t, b.Addr)
	pid := initProducerID(t, rc)

	first := produceResult(t, rc.roundTrip(produceRequest("idem", idempotentBatch(pid, 0, "a", "b", "c"))))
	if first.ErrorCode != 0 {
		t.Fatalf("first produce: %v", kerr.ErrorForCode(first.ErrorCode))
	}
	second := produceResult(t, rc.roundTrip(produceRequest("idem", idempotentBatch(pid, 0, "a", "b", "c"))))
	if second.ErrorCode != 0 || second.BaseOffset != first.BaseOffset {
		t.Fatalf("replayed batch: code %d offset %d, want offset %d", second.ErrorCode, second.BaseOffset, first.BaseOffset)
	}
	next := produceResult(t, rc.roundTrip(produceRequest("idem", idempotentBatch(pid, 3, "d"))))
	if next.ErrorCode != 0 || next.BaseOffset != 3 {
		t.Fatalf("next batch: code %d offset %d, want 3", next.ErrorCode, next.BaseOffset)
	}
	gap := produceResult(t, rc.roundTrip(produceRequest("idem", idempotentBatch(pid, 10, "gap"))))
	if gap.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: code %d, want OUT_OF_ORDER_SEQUENCE_NUMBER", gap.ErrorCode)
	}
	if end := endOffset(t, rc, "idem"); end != 4 {
		t.Fatalf("end offset %d, want 4", end)
	}

	// The same replay after a clean restart, and after a crash-like restart
	// where the broker rebuilds producer state from the log.
	b.Restart()
	rc = dial(t, b.Addr)
	again := produceResult(t, rc.roundTrip(produceRequest("idem", idempotentBatch(pid, 3, "d"))))
	if again.ErrorCode != 0 || again.BaseOffset != 3 {
		t.Fatalf("replay after restart: code %d offset %d, want 3", again.ErrorCode, again.BaseOffset)
	}
	if end := endOffset(t, rc, "idem"); end != 4 {
		t.Fatalf("end offset after restart %d, want 4", end)
	}
}

func TestCorruptBatchRejected(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "corrupt", 1, nil)
	rc := dial(t, b.Addr)
	batch := idempotentBatch(-1, -1, "hello", "world")
	batch[len(batch)-1] ^= 0xff // flip a bit covered by the CRC
	res := produceResult(t, rc.roundTrip(produceRequest("corrupt", batch)))
	if res.ErrorCode != kerr.CorruptMessage.Code {
		t.Fatalf("corrupt batch: code %d, want CORRUPT_MESSAGE", res.ErrorCode)
	}
	if end := endOffset(t, rc, "corrupt"); end != 0 {
		t.Fatalf("corrupt batch stored: end offset %d", end)
	}
	// A batch over max.message.bytes.
	big := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Records: []record.RecordSpec{{Value: make([]byte, 2<<20)}}})
	res = produceResult(t, rc.roundTrip(produceRequest("corrupt", big)))
	if res.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("oversize batch: code %d, want MESSAGE_TOO_LARGE", res.ErrorCode)
	}
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"socket.request.max.bytes": "1048576"})
	bad := dial(t, b.Addr)
	good := dial(t, b.Addr)
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 64<<20)
	bad.send(hdr[:])
	if _, _, err := bad.readFrame(); err == nil {
		t.Fatal("oversize frame: connection still answered")
	} else if !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("oversize frame: want the connection closed, got %v", err)
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "e2e", "1"
	if resp := good.roundTrip(req).(*kmsg.ApiVersionsResponse); resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("other connection broken: %+v", resp)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

func TestUnknownVersions(t *testing.T) {
	b := brokertest.Start(t, nil)
	rc := dial(t, b.Addr)

	// ApiVersions newer than we know: v0-format UNSUPPORTED_VERSION with our
	// ranges (KIP-511). Build it by hand: version 99 has no kmsg encoding, so
	// send a v3 body under version 99.
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "e2e", "1"
	f := rc.frame(req)
	binary.BigEndian.PutUint16(f[6:], 99)
	rc.send(f)
	body, corr, err := rc.readFrame()
	if err != nil || corr != rc.corr {
		t.Fatalf("ApiVersions v99: err %v corr %d", err, corr)
	}
	v0 := kmsg.NewPtrApiVersionsResponse()
	v0.SetVersion(0)
	if err := v0.ReadFrom(body); err != nil {
		t.Fatalf("decode v0 response: %v", err)
	}
	if v0.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("ApiVersions v99: code %d, want UNSUPPORTED_VERSION", v0.ErrorCode)
	}
	found := false
	for _, k := range v0.ApiKeys {
		if k.ApiKey == 18 && k.MinVersion == 0 && k.MaxVersion >= 3 {
			found = true
		}
	}
	if !found {
		t.Fatalf("v0 error response lacks the ApiVersions range: %+v", v0.ApiKeys)
	}

	// An unknown API key closes the connection (Kafka's behaviour).
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(1)
	f = rc.frame(meta)
	binary.BigEndian.PutUint16(f[4:], 9999)
	rc.send(f)
	if _, _, err := rc.readFrame(); err == nil {
		t.Fatal("unknown api key: got a response, want the connection closed")
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "pipe", 1, nil)
	rc := dial(t, b.Addr)
	// A long-polling fetch first, then quick requests: answers must still
	// come back in request order.
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.ReplicaID = -1
	fetch.MaxWaitMillis = 300
	fetch.MinBytes = 1
	fetch.MaxBytes = 1 << 20
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "pipe"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	fp.CurrentLeaderEpoch = -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	var burst []byte
	burst = append(burst, rc.frame(fetch)...)
	const n = 50
	for i := 0; i < n; i++ {
		meta := kmsg.NewPtrMetadataRequest()
		meta.SetVersion(int16(i % 14))
		burst = append(burst, rc.frame(meta)...)
	}
	rc.send(burst)
	for want := rc.corr - n; want <= rc.corr; want++ {
		_, corr, err := rc.readFrame()
		if err != nil {
			t.Fatalf("response %d: %v", want, err)
		}
		if corr != want {
			t.Fatalf("got correlation id %d, want %d", corr, want)
		}
	}
}

// Partitions without data carry an empty record set, never a null one:
// librdkafka cannot parse the rest of a fetch response after a null.
func TestFetchEmptyPartitionHasEmptyRecords(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "empty", 2, nil)
	rc := dial(t, b.Addr)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.ReplicaID = -1
	fetch.MaxBytes = 1 << 20
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "empty"
	for p := int32(0); p < 2; p++ {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = p, 1<<20, -1
		ft.Partitions = append(ft.Partitions, fp)
	}
	fetch.Topics = append(fetch.Topics, ft)
	resp := rc.roundTrip(fetch).(*kmsg.FetchResponse)
	for _, p := range resp.Topics[0].Partitions {
		if p.RecordBatches == nil {
			t.Fatalf("partition %d: null record set", p.Partition)
		}
	}
}

// TestFetchSessionEpochs: Samsa keeps no fetch sessions, but every full
// fetch is served as Kafka serves it: epoch 0 (a new session, declined with
// session id 0) and epoch -1 (no session) whatever the session id names
// (kafka-go's Client.Fetch sends id -1, epoch -1); only an incremental fetch
// (epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND.
func TestFetchSessionEpochs(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "sessions", 1, nil)
	cl := b.Client(kgo.DefaultProduceTopic("sessions"))
	if err := cl.ProduceSync(brokertest.Context(t, 10*time.Second), &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, b.Addr)
	for _, tc := range []struct {
		id, epoch int32
		want      int16
	}{{0, -1, 0}, {-1, -1, 0}, {0, 0, 0}, {42, 0, 0}, {42, -1, 0}, {42, 3, kerr.FetchSessionIDNotFound.Code}, {0, 1, kerr.FetchSessionIDNotFound.Code}} {
		fetch := kmsg.NewPtrFetchRequest()
		fetch.SetVersion(11)
		fetch.ReplicaID, fetch.MaxBytes = -1, 1<<20
		fetch.SessionID, fetch.SessionEpoch = tc.id, tc.epoch
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "sessions"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
		ft.Partitions = append(ft.Partitions, fp)
		fetch.Topics = append(fetch.Topics, ft)
		resp := rc.roundTrip(fetch).(*kmsg.FetchResponse)
		if resp.ErrorCode != tc.want {
			t.Errorf("session %d epoch %d: error %d, want %d", tc.id, tc.epoch, resp.ErrorCode, tc.want)
			continue
		}
		if tc.want != 0 {
			continue
		}
		if resp.SessionID != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Errorf("session %d epoch %d: %+v, want session 0 and the record", tc.id, tc.epoch, resp)
		}
	}
}

// Review findings: internal topics are the broker's own, requests outside
// the protocol's value ranges get Kafka's answers, and limits in a fetch
// request cannot make the broker allocate what it does not have.
func TestProtectedTopicsAndLimits(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "lim", 1, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	rc := dial(t, b.Addr)

	if res := produceResult(t, rc.roundTrip(produceRequest("__consumer_offsets", idempotentBatch(-1, -1, "forged")))); res.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("produce to __consumer_offsets: code %d, want INVALID_TOPIC_EXCEPTION", res.ErrorCode)
	}
	if r, _ := adm.DeleteTopics(ctx, "__consumer_offsets"); r["__consumer_offsets"].Err == nil {
		t.Fatal("__consumer_offsets was deleted")
	}
	if r, _ := adm.CreateTopics(ctx, 1, 1, nil, "__cluster_metadata"); !errors.Is(r["__cluster_metadata"].Err, kerr.InvalidTopicException) {
		t.Fatalf("reserved name: %v", r["__cluster_metadata"].Err)
	}
	bad := produceRequest("lim", idempotentBatch(-1, -1, "x"))
	bad.Acks = 2
	if res := produceResult(t, rc.roundTrip(bad)); res.ErrorCode != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: code %d, want INVALID_REQUIRED_ACKS", res.ErrorCode)
	}
	two := append(idempotentBatch(-1, -1, "a"), idempotentBatch(-1, -1, "b")...)
	if res := produceResult(t, rc.roundTrip(produceRequest("lim", two))); res.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("two batches for one partition: code %d, want INVALID_RECORD", res.ErrorCode)
	}
	if end := endOffset(t, rc, "lim"); end != 0 {
		t.Fatalf("rejected produces stored data: end offset %d", end)
	}

	// A fetch asking for 2 GiB per partition is served without the broker
	// allocating anything like it.
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.ReplicaID = -1
	fetch.MaxBytes = 1<<31 - 1
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "lim"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<31-1, -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 20; i++ {
		if resp := rc.roundTrip(fetch).(*kmsg.FetchResponse); resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("fetch: code %d", resp.Topics[0].Partitions[0].ErrorCode)
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 256<<20 {
		t.Fatalf("20 fetches of an empty partition allocated %d MiB", grown>>20)
	}
}

// TestProduceRepeatedPartition: a produce request naming one partition
// twice appends only the last entry and answers once for the partition, as
// Kafka, which keys a request's partitions in a map.
func TestProduceRepeatedPartition(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "twice", 2, nil)
	rc := dial(t, b.Addr)
	plain := func(v string) []byte {
		return record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Timestamp: time.Now().UnixMilli(), Records: []record.RecordSpec{{Value: []byte(v)}}})
	}
	send := func(entries ...[]byte) [][3]int64 {
		t.Helper()
		req := produceRequest("twice", entries[0])
		for _, e := range entries[1:] {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = e
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
		}
		// A second entry for the topic, for partition 1.
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "twice"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = 1, plain("other")
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		var got [][3]int64
		for _, t := range rc.roundTrip(req).(*kmsg.ProduceResponse).Topics {
			for _, p := range t.Partitions {
				got = append(got, [3]int64{int64(p.Partition), int64(p.ErrorCode), p.BaseOffset})
			}
		}
		return got
	}
	if got := send(plain("first"), plain("second")); len(got) != 2 || got[0] != [3]int64{0, 0, 0} || got[1] != [3]int64{1, 0, 0} {
		t.Fatalf("two entries for partition 0: responses %v, want one per partition", got)
	}
	huge := plain(string(make([]byte, 2<<20)))
	if got := send(plain("small"), huge); len(got) != 2 || got[0][1] != int64(kerr.MessageTooLarge.Code) {
		t.Fatalf("small then oversized for partition 0: %v, want MESSAGE_TOO_LARGE (the last entry decides)", got)
	}
	if end := endOffset(t, rc, "twice"); end != 1 {
		t.Fatalf("partition 0 end offset %d, want 1: only the last entry of each request is appended", end)
	}
}

// Fetch v13+ names topics by id, answers with the id, and gives an id no
// topic has UNKNOWN_TOPIC_ID; v12 still names them.
func TestFetchByTopicID(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	createTopic(t, adm, "by-id", 1, nil)
	cl := b.Client()
	produceN(t, cl, "by-id", 3)
	ctx := brokertest.Context(t, 10*time.Second)
	listed, err := adm.ListTopics(ctx, "by-id")
	if err != nil {
		t.Fatal(err)
	}
	id := listed["by-id"].ID
	rc := dial(t, b.Addr)
	fetch := func(version int16, name string, id [16]byte) kmsg.FetchResponseTopic {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(version)
		req.ReplicaID, req.MaxBytes, req.SessionEpoch = -1, 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = name, id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := rc.roundTrip(req).(*kmsg.FetchResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: %+v", version, resp)
		}
		return resp.Topics[0]
	}
	for _, v := range []int16{13, 15, 16, 17} {
		got := fetch(v, "", id)
		p := got.Partitions[0]
		if got.TopicID != id || p.ErrorCode != 0 || p.HighWatermark != 3 || len(p.RecordBatches) == 0 {
			t.Fatalf("v%d by id: topic %x, error %v, high watermark %d, %d bytes", v, got.TopicID, kerr.ErrorForCode(p.ErrorCode), p.HighWatermark, len(p.RecordBatches))
		}
		if got := fetch(v, "by-id", [16]byte{0xde, 0xad}); got.Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
			t.Fatalf("v%d by an unknown id: %v", v, kerr.ErrorForCode(got.Partitions[0].ErrorCode))
		}
	}
	if got := fetch(12, "by-id", [16]byte{}); got.Topic != "by-id" || got.Partitions[0].HighWatermark != 3 {
		t.Fatalf("v12 by name: %+v", got)
	}
}
