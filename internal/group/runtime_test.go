package group

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memLog is an in-memory Log for this package's tests: a persistence fake
// that keeps every appended record per partition and can fail appends.
type memLog struct {
	mu      sync.Mutex
	parts   map[int32][]Entry
	failErr error // returned by every Append while set
	appends int
}

func newMemLog() *memLog { return &memLog{parts: make(map[int32][]Entry)} }

func (l *memLog) Append(_ context.Context, partition int32, records []KV) error {
	return l.append(partition, records, Entry{ProducerID: -1})
}

func (l *memLog) AppendTxn(_ context.Context, partition int32, producerID int64, _ int16, records []KV) error {
	return l.append(partition, records, Entry{ProducerID: producerID, Transactional: true})
}

func (l *memLog) AppendMarker(_ context.Context, partition int32, producerID int64, _ int16, commit bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failErr != nil {
		return l.failErr
	}
	l.appends++
	l.parts[partition] = append(l.parts[partition], Entry{ProducerID: producerID, Transactional: true, Marker: true, Commit: commit})
	return nil
}

func (l *memLog) append(partition int32, records []KV, tmpl Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failErr != nil {
		return l.failErr
	}
	l.appends++
	for _, r := range records {
		e := tmpl
		e.Key = bytes.Clone(r.Key)
		if r.Value != nil {
			e.Value = bytes.Clone(r.Value)
		}
		l.parts[partition] = append(l.parts[partition], e)
	}
	return nil
}

func (l *memLog) Replay(ctx context.Context, partition int32, fn func(Entry) error) error {
	l.mu.Lock()
	entries := append([]Entry(nil), l.parts[partition]...)
	l.mu.Unlock()
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (l *memLog) setFail(err error) {
	l.mu.Lock()
	l.failErr = err
	l.mu.Unlock()
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	log   *memLog
	clock *fakeClock
	cfg   Config
	c     *Coordinator
}

func newEnv(t *testing.T, log *memLog) *env {
	t.Helper()
	e := &env{t: t, log: log, clock: &fakeClock{now: epoch0}}
	e.cfg = Config{
		Partitions:            4,
		InitialRebalanceDelay: time.Second,
		MinSessionTimeout:     time.Second,
		MaxSessionTimeout:     time.Minute,
		Now:                   e.clock.Now,
		Topics: func(name string) ([16]byte, int32, bool) {
			if name == "orders" {
				return ordersID, 4, true
			}
			return [16]byte{}, 0, false
		},
	}
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	e.c = New(e.cfg, e.log)
	e.c.Start(context.Background())
	e.t.Cleanup(e.c.Close)
	e.waitLoaded()
}

// waitLoaded polls until every shard has replayed.
func (e *env) waitLoaded() {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.c.ListGroups(context.Background(), kmsg.NewPtrListGroupsRequest()).ErrorCode != 0 {
		if time.Now().After(deadline) {
			e.t.Fatal("shards did not load")
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *env) restart() {
	e.t.Helper()
	e.c.Close()
	e.start()
}

func (e *env) ctx() context.Context {
	return WithClientInfo(context.Background(), ClientInfo{ClientID: "app", ClientHost: "/10.0.0.1"})
}

// joinAll joins n members concurrently and returns their answers.
func (e *env) joinAll(group string, n int) []*kmsg.JoinGroupResponse {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		resp := e.c.JoinGroup(e.ctx(), joinReq(group, ""))
		wantCode(e.t, "first join", resp.ErrorCode, kerr.MemberIDRequired.Code)
		ids[i] = resp.MemberID
	}
	out := make([]*kmsg.JoinGroupResponse, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { out[i] = e.c.JoinGroup(e.ctx(), joinReq(group, id)) })
	}
	e.waitParked(group, n)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// Run the (fake) clock through the initial delay, which each window
	// with a new member extends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.clock.Advance(e.cfg.InitialRebalanceDelay)
		e.c.runDueTimers()
		select {
		case <-done:
			return out
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatal("joins did not complete")
		}
	}
}

// waitParked polls until n calls are parked on the group's shard.
func (e *env) waitParked(group string, n int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sh := e.c.shardFor(group)
		sh.mu.Lock()
		parked := len(sh.waiters)
		sh.mu.Unlock()
		if parked == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d calls parked, want %d", parked, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// stable brings a group of n members to Stable through the public API.
func (e *env) stable(group string, n int) []*kmsg.JoinGroupResponse {
	e.t.Helper()
	joins := e.joinAll(group, n)
	var leader *kmsg.JoinGroupResponse
	for _, j := range joins {
		wantCode(e.t, "join", j.ErrorCode, 0)
		if j.MemberID == j.LeaderID {
			leader = j
		}
	}
	var wg sync.WaitGroup
	results := make([]*kmsg.SyncGroupResponse, len(joins))
	for i, j := range joins {
		if j == leader {
			continue
		}
		wg.Go(func() { results[i] = e.c.SyncGroup(e.ctx(), syncReq(group, j.MemberID, j.Generation, nil)) })
	}
	assign := make(map[string]string)
	for _, j := range joins {
		assign[j.MemberID] = "for-" + j.MemberID
	}
	lr := e.c.SyncGroup(e.ctx(), syncReq(group, leader.MemberID, leader.Generation, assign))
	wantCode(e.t, "leader sync", lr.ErrorCode, 0)
	wg.Wait()
	for i, r := range results {
		if r != nil && (r.ErrorCode != 0 || string(r.MemberAssignment) != "for-"+joins[i].MemberID) {
			e.t.Fatalf("follower sync: %s %q", codeName(r.ErrorCode), r.MemberAssignment)
		}
	}
	return joins
}

func TestCoordinatorStateSurvivesRestart(t *testing.T) {
	log := newMemLog()
	e := newEnv(t, log)
	joins := e.stable("app", 2)
	for _, p := range []int32{0, 1} {
		resp := e.c.OffsetCommit(e.ctx(), commitReq("app", joins[0].MemberID, 1, "orders", map[int32]int64{p: 100 + int64(p)}))
		wantCode(t, "commit", resp.Topics[0].Partitions[0].ErrorCode, 0)
	}
	wantCode(t, "simple commit",
		e.c.OffsetCommit(e.ctx(), commitReq("tool", "", -1, "orders", map[int32]int64{3: 7})).Topics[0].Partitions[0].ErrorCode, 0)

	fetchAll := func() *kmsg.OffsetFetchResponse {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 8
		for _, g := range []string{"app", "tool", "none"} {
			rg := kmsg.NewOffsetFetchRequestGroup()
			rg.Group = g
			req.Groups = append(req.Groups, rg)
		}
		return e.c.OffsetFetch(e.ctx(), req)
	}
	describe := func() *kmsg.DescribeGroupsResponse {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = 5
		req.Groups = []string{"app", "tool"}
		return e.c.DescribeGroups(e.ctx(), req)
	}
	offsetsBefore, groupsBefore := fetchAll(), describe()
	if len(offsetsBefore.Groups) != 3 || len(offsetsBefore.Groups[0].Topics[0].Partitions) != 2 {
		t.Fatalf("offsets before restart: %+v", offsetsBefore)
	}
	if groupsBefore.Groups[0].State != "Stable" || groupsBefore.Groups[0].Members[0].ClientHost != "/10.0.0.1" {
		t.Fatalf("describe before restart: %+v", groupsBefore.Groups[0])
	}

	e.restart()

	if got := fetchAll(); !equalFetch(got, offsetsBefore) {
		t.Fatalf("offsets changed across restart:\n got %+v\nwant %+v", got, offsetsBefore)
	}
	if got := describe(); !equalDescribe(got, groupsBefore) {
		t.Fatalf("groups changed across restart:\n got %+v\nwant %+v", got, groupsBefore)
	}
	// Restored members carry on at their generation.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "app", joins[1].MemberID, 1
	wantCode(t, "heartbeat after restart", e.c.Heartbeat(e.ctx(), hb).ErrorCode, 0)
}

func equalFetch(a, b *kmsg.OffsetFetchResponse) bool {
	if len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		ga, gb := a.Groups[i], b.Groups[i]
		if ga.Group != gb.Group || ga.ErrorCode != gb.ErrorCode || len(ga.Topics) != len(gb.Topics) {
			return false
		}
		for j := range ga.Topics {
			ta, tb := ga.Topics[j], gb.Topics[j]
			if ta.Topic != tb.Topic || len(ta.Partitions) != len(tb.Partitions) {
				return false
			}
			for k := range ta.Partitions {
				pa, pb := ta.Partitions[k], tb.Partitions[k]
				if pa.Partition != pb.Partition || pa.Offset != pb.Offset || pa.LeaderEpoch != pb.LeaderEpoch ||
					*pa.Metadata != *pb.Metadata || pa.ErrorCode != pb.ErrorCode {
					return false
				}
			}
		}
	}
	return true
}

func equalDescribe(a, b *kmsg.DescribeGroupsResponse) bool {
	if len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		ga, gb := a.Groups[i], b.Groups[i]
		if ga.Group != gb.Group || ga.State != gb.State || ga.Protocol != gb.Protocol ||
			ga.ProtocolType != gb.ProtocolType || len(ga.Members) != len(gb.Members) {
			return false
		}
		for j := range ga.Members {
			ma, mb := ga.Members[j], gb.Members[j]
			if ma.MemberID != mb.MemberID || ma.ClientID != mb.ClientID || ma.ClientHost != mb.ClientHost ||
				!bytes.Equal(ma.ProtocolMetadata, mb.ProtocolMetadata) || !bytes.Equal(ma.MemberAssignment, mb.MemberAssignment) {
				return false
			}
		}
	}
	return true
}

func TestCoordinatorAnswersWhileLoading(t *testing.T) {
	c := New(Config{Partitions: 2}, newMemLog()) // never started: never loaded
	ctx := context.Background()
	wantCode(t, "join", c.JoinGroup(ctx, joinReq("g", "")).ErrorCode, kerr.CoordinatorLoadInProgress.Code)
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", "m", 1, nil)).ErrorCode, kerr.RebalanceInProgress.Code)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group = "g"
	wantCode(t, "heartbeat", c.Heartbeat(ctx, hb).ErrorCode, 0)
	commit := c.OffsetCommit(ctx, commitReq("g", "", -1, "orders", map[int32]int64{0: 1, 1: 2}))
	for _, p := range commit.Topics[0].Partitions {
		wantCode(t, "commit", p.ErrorCode, kerr.CoordinatorLoadInProgress.Code)
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 1
	fetch.Group = "g"
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "orders", Partitions: []int32{0}}}
	wantCode(t, "fetch v1", c.OffsetFetch(ctx, fetch).Topics[0].Partitions[0].ErrorCode, kerr.CoordinatorLoadInProgress.Code)
	fetch.Version = 5
	wantCode(t, "fetch v5", c.OffsetFetch(ctx, fetch).ErrorCode, kerr.CoordinatorLoadInProgress.Code)
	wantCode(t, "list", c.ListGroups(ctx, kmsg.NewPtrListGroupsRequest()).ErrorCode, kerr.CoordinatorLoadInProgress.Code)
	c.Close()
	wantCode(t, "join after close", c.JoinGroup(ctx, joinReq("g", "")).ErrorCode, kerr.CoordinatorNotAvailable.Code)
}

func TestCloseWakesParkedJoin(t *testing.T) {
	e := newEnv(t, newMemLog())
	first := e.c.JoinGroup(e.ctx(), joinReq("g", ""))
	done := make(chan *kmsg.JoinGroupResponse)
	go func() { done <- e.c.JoinGroup(e.ctx(), joinReq("g", first.MemberID)) }()
	// The fake clock never reaches the initial delay, so the join stays parked.
	e.waitParked("g", 1)
	e.c.Close()
	select {
	case resp := <-done:
		wantCode(t, "parked join", resp.ErrorCode, kerr.NotCoordinator.Code)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the parked join")
	}
}

func TestTimersFireFromTheRuntime(t *testing.T) {
	e := newEnv(t, newMemLog())
	joins := e.stable("g", 2)
	e.clock.Advance(11 * time.Second) // past the 10 s session timeout
	e.c.runDueTimers()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{"g"}
	if d := e.c.DescribeGroups(e.ctx(), req).Groups[0]; d.State != "PreparingRebalance" && d.State != "Empty" {
		t.Fatalf("state %s after every session expired", d.State)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "g", joins[0].MemberID, 1
	wantCode(t, "expired member heartbeat", e.c.Heartbeat(e.ctx(), hb).ErrorCode, kerr.UnknownMemberID.Code)
}

func TestAppendFailureReloadsShard(t *testing.T) {
	log := newMemLog()
	e := newEnv(t, log)
	commit := func(offset int64) int16 {
		return e.c.OffsetCommit(e.ctx(), commitReq("g", "", -1, "orders", map[int32]int64{0: offset})).Topics[0].Partitions[0].ErrorCode
	}
	wantCode(t, "first commit", commit(1), 0)
	log.setFail(errors.New("disk full"))
	wantCode(t, "failing commit", commit(2), kerr.CoordinatorNotAvailable.Code)
	log.setFail(nil)
	// The shard reloads from the log; the failed commit is not there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		fetch := kmsg.NewPtrOffsetFetchRequest()
		fetch.Version = 5
		fetch.Group = "g"
		resp := e.c.OffsetFetch(e.ctx(), fetch)
		if resp.ErrorCode == 0 {
			if got := resp.Topics[0].Partitions[0].Offset; got != 1 {
				t.Fatalf("offset %d after reload, want the durable 1", got)
			}
			break
		}
		wantCode(t, "fetch while reloading", resp.ErrorCode, kerr.CoordinatorLoadInProgress.Code)
		if time.Now().After(deadline) {
			t.Fatal("shard did not reload")
		}
		time.Sleep(time.Millisecond)
	}
	wantCode(t, "commit after reload", commit(3), 0)
}

func TestConcurrentCommitsShareAppends(t *testing.T) {
	log := newMemLog()
	e := newEnv(t, log)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			code := e.c.OffsetCommit(e.ctx(), commitReq("g", "", -1, "orders", map[int32]int64{int32(i % 4): int64(i)})).Topics[0].Partitions[0].ErrorCode
			if code != 0 {
				t.Errorf("commit %d: %s", i, codeName(code))
			}
		})
	}
	wg.Wait()
	e.restart()
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 5
	fetch.Group = "g"
	if got := len(e.c.OffsetFetch(e.ctx(), fetch).Topics[0].Partitions); got != 4 {
		t.Fatalf("%d partitions after restart, want 4", got)
	}
}

func TestKIP848ThroughTheRuntime(t *testing.T) {
	e := newEnv(t, newMemLog())
	resp := e.c.ConsumerGroupHeartbeat(e.ctx(), cgJoinReq("cg", "m1", "orders"))
	wantCode(t, "join", resp.ErrorCode, 0)
	if resp.MemberEpoch != 1 || len(resp.Assignment.Topics) != 1 {
		t.Fatalf("join: epoch %d assignment %+v", resp.MemberEpoch, resp.Assignment)
	}
	d := e.c.ConsumerGroupDescribe(e.ctx(), &kmsg.ConsumerGroupDescribeRequest{Groups: []string{"cg", "", "missing"}})
	wantCode(t, "describe", d.Groups[0].ErrorCode, 0)
	wantCode(t, "describe empty id", d.Groups[1].ErrorCode, kerr.InvalidGroupID.Code)
	wantCode(t, "describe missing", d.Groups[2].ErrorCode, kerr.GroupIDNotFound.Code)
	if d.Groups[0].Members[0].ClientID != "app" {
		t.Fatalf("client id %q", d.Groups[0].Members[0].ClientID)
	}
	del := e.c.DeleteGroups(e.ctx(), &kmsg.DeleteGroupsRequest{Groups: []string{"cg"}})
	wantCode(t, "delete non-empty", del.Groups[0].ErrorCode, kerr.NonEmptyGroup.Code)
}

func TestTakeBatchKeepsEntriesWhole(t *testing.T) {
	big := KV{Key: make([]byte, maxBatchBytes/2+1)}
	queue := []*writeEntry{
		{records: []KV{big}},
		{records: []KV{big}}, // would overflow the batch: waits
		{},
	}
	batch := takeBatch(&queue)
	if len(batch) != 1 || len(queue) != 2 {
		t.Fatalf("batch %d queue %d, want 1 and 2", len(batch), len(queue))
	}
	huge := []*writeEntry{{records: []KV{{Key: make([]byte, 2*maxBatchBytes)}}}}
	if batch := takeBatch(&huge); len(batch) != 1 {
		t.Fatal("an entry larger than the batch limit must still be written")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{"zero config takes defaults", Config{}, ""},
		{"negative partitions", Config{Partitions: -1}, "offsets.topic.num.partitions"},
		{"min above max session", Config{MinSessionTimeout: time.Hour, MaxSessionTimeout: time.Minute}, "group.min.session.timeout.ms"},
		{"heartbeat not below session", Config{ConsumerHeartbeatInterval: time.Minute, ConsumerSessionTimeout: time.Second}, "group.consumer.heartbeat.interval.ms"},
		{"negative delay", Config{InitialRebalanceDelay: -time.Second}, "group.initial.rebalance.delay.ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one mentioning %s", err, tc.want)
			}
		})
	}
}

func TestLeaveAndOffsetDeleteThroughTheRuntime(t *testing.T) {
	e := newEnv(t, newMemLog())
	joins := e.stable("g", 1)
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 3
	leave.Group = "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: joins[0].MemberID}}
	if resp := e.c.LeaveGroup(e.ctx(), leave); resp.ErrorCode != 0 || resp.Members[0].ErrorCode != 0 {
		t.Fatalf("leave: %+v", resp)
	}
	wantCode(t, "commit", e.c.OffsetCommit(e.ctx(), commitReq("g", "", -1, "orders", map[int32]int64{0: 1})).Topics[0].Partitions[0].ErrorCode, 0)
	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	resp := e.c.OffsetDelete(e.ctx(), del)
	wantCode(t, "offset delete", resp.Topics[0].Partitions[0].ErrorCode, 0)
	wantCode(t, "empty group id", e.c.OffsetDelete(e.ctx(), &kmsg.OffsetDeleteRequest{}).ErrorCode, kerr.InvalidGroupID.Code)
	e.restart()
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 5
	fetch.Group = "g"
	if got := e.c.OffsetFetch(e.ctx(), fetch); len(got.Topics) != 0 {
		t.Fatalf("deleted offset came back: %+v", got.Topics)
	}
}

func TestDeletedTopicsLoseTheirOffsets(t *testing.T) {
	e := newEnv(t, newMemLog())
	topics := map[string]bool{"orders": true, "events": true}
	e.cfg.Topics = func(name string) ([16]byte, int32, bool) { return [16]byte{byte(len(name))}, 4, topics[name] }
	e.restart()
	commit := func(group, topic string) {
		t.Helper()
		resp := e.c.OffsetCommit(e.ctx(), commitReq(group, "", -1, topic, map[int32]int64{0: 10, 1: 20}))
		for _, p := range resp.Topics[0].Partitions {
			wantCode(t, "commit "+group+"/"+topic, p.ErrorCode, 0)
		}
	}
	committed := func(group string) map[string]int {
		t.Helper()
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 5
		req.Group = group
		resp := e.c.OffsetFetch(e.ctx(), req)
		wantCode(t, "fetch "+group, resp.ErrorCode, 0)
		out := make(map[string]int)
		for _, rt := range resp.Topics {
			out[rt.Topic] += len(rt.Partitions)
		}
		return out
	}
	groups := func() []string {
		var out []string
		for _, g := range e.c.ListGroups(e.ctx(), kmsg.NewPtrListGroupsRequest()).Groups {
			out = append(out, g.Group)
		}
		slices.Sort(out)
		return out
	}
	commit("both", "orders")
	commit("both", "events")
	commit("events-only", "events")

	// Deleted through the API: both groups lose the topic's offsets at
	// once, and the group left with none is gone.
	delete(topics, "events")
	if err := e.c.TopicsDeleted(e.ctx(), []string{"events"}); err != nil {
		t.Fatal(err)
	}
	topics["events"] = true // created again under the same name
	if got := committed("both"); !maps.Equal(got, map[string]int{"orders": 2}) {
		t.Fatalf("after delete, group both has %v", got)
	}
	if got := groups(); !slices.Equal(got, []string{"both"}) {
		t.Fatalf("after delete, groups %v", got)
	}
	e.restart()
	if got := committed("both"); !maps.Equal(got, map[string]int{"orders": 2}) {
		t.Fatalf("after restart, group both has %v", got)
	}
	if got := committed("events-only"); len(got) != 0 {
		t.Fatalf("after restart, group events-only has %v", got)
	}

	// Deleted while the coordinator was down (a crash between the catalog
	// and the tombstones): the next load removes the offsets, durably.
	commit("both", "events")
	e.c.Close()
	delete(topics, "events")
	e.start()
	if got := committed("both"); !maps.Equal(got, map[string]int{"orders": 2}) {
		t.Fatalf("after load, group both has %v", got)
	}
	topics["events"] = true
	e.restart()
	if got := committed("both"); !maps.Equal(got, map[string]int{"orders": 2}) {
		t.Fatalf("after a second restart, group both has %v", got)
	}
}
