package quota

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func name(s string) *string { return &s }

func entity(t *testing.T, cs ...Component) Entity {
	t.Helper()
	e, err := NewEntity(cs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNewEntity(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		comps []Component
		ok    bool
	}{
		{"user", []Component{{User, name("alice")}}, true},
		{"default user and client", []Component{{User, nil}, {ClientID, name("app")}}, true},
		{"ip", []Component{{IP, name("10.0.0.1")}}, true},
		{"default ip", []Component{{IP, nil}}, true},
		{"empty", nil, false},
		{"duplicate type", []Component{{User, name("a")}, {User, name("b")}}, false},
		{"unknown type", []Component{{"group", name("g")}}, false},
		{"empty name", []Component{{ClientID, name("")}}, false},
		{"ip with user", []Component{{IP, name("10.0.0.1")}, {User, name("a")}}, false},
		{"bad ip", []Component{{IP, name("not-an-ip")}}, false},
	} {
		_, err := NewEntity(tc.comps)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ok=%v", tc.desc, err, tc.ok)
		}
	}
}

func TestCheckOps(t *testing.T) {
	user := entity(t, Component{User, name("alice")})
	ip := entity(t, Component{IP, nil})
	for _, tc := range []struct {
		desc string
		e    Entity
		op   Op
		ok   bool
	}{
		{"byte rate", user, Op{Key: ProducerByteRate, Value: 1024}, true},
		{"fractional percentage", user, Op{Key: RequestPercentage, Value: 12.5}, true},
		{"fractional byte rate", user, Op{Key: ConsumerByteRate, Value: 10.5}, false},
		{"zero", user, Op{Key: ProducerByteRate, Value: 0}, false},
		{"negative", user, Op{Key: ControllerMutationRate, Value: -1}, false},
		{"unknown key", user, Op{Key: "bytes_per_fortnight", Value: 1}, false},
		{"ip key on a user", user, Op{Key: ConnectionCreationRate, Value: 5}, false},
		{"user key on an ip", ip, Op{Key: ProducerByteRate, Value: 5}, false},
		{"ip connection rate", ip, Op{Key: ConnectionCreationRate, Value: 5}, true},
		{"remove ignores the value", user, Op{Key: ProducerByteRate, Remove: true}, true},
	} {
		err := CheckOps(tc.e, []Op{tc.op})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.desc, err, tc.ok)
		}
	}
}

func TestDescribeFilters(t *testing.T) {
	alice := entity(t, Component{User, name("alice")})
	aliceApp := entity(t, Component{User, name("alice")}, Component{ClientID, name("app")})
	defUser := entity(t, Component{User, nil})
	app := entity(t, Component{ClientID, name("app")})
	ip := entity(t, Component{IP, name("10.1.1.1")})
	s := NewSet(nil)
	for _, e := range []Entity{alice, aliceApp, defUser, app, ip} {
		s = s.With(e, []Op{{Key: ProducerByteRate, Value: 100}})
	}
	if got := len(s.All()); got != 5 {
		t.Fatalf("%d entries, want 5", got)
	}
	for _, tc := range []struct {
		desc   string
		filter []FilterComponent
		strict bool
		want   int
	}{
		{"everything", nil, false, 5},
		{"strict empty filter", nil, true, 0},
		{"exact alice", []FilterComponent{{Type: User, MatchType: MatchExact, Match: name("alice")}}, false, 2},
		{"exact alice, strict", []FilterComponent{{Type: User, MatchType: MatchExact, Match: name("alice")}}, true, 1},
		{"default user", []FilterComponent{{Type: User, MatchType: MatchDefault}}, false, 1},
		{"any user", []FilterComponent{{Type: User, MatchType: MatchAny}}, false, 3},
		{"any user and client", []FilterComponent{{Type: User, MatchType: MatchAny}, {Type: ClientID, MatchType: MatchAny}}, true, 1},
		{"any client", []FilterComponent{{Type: ClientID, MatchType: MatchAny}}, false, 2},
		{"ip", []FilterComponent{{Type: IP, MatchType: MatchAny}}, false, 1},
	} {
		got, err := s.Describe(tc.filter, tc.strict)
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: %d entries (%v), want %d", tc.desc, len(got), err, tc.want)
		}
	}
	for _, tc := range []struct {
		desc   string
		filter []FilterComponent
		want   error
	}{
		{"empty type", []FilterComponent{{Type: "", MatchType: MatchAny}}, ErrInvalid},
		{"twice", []FilterComponent{{Type: User, MatchType: MatchAny}, {Type: User, MatchType: MatchDefault}}, ErrInvalid},
		{"unknown type", []FilterComponent{{Type: "topic", MatchType: MatchAny}}, ErrUnsupportedEntityType},
		{"bad match type", []FilterComponent{{Type: User, MatchType: 7}}, ErrInvalid},
		{"ip with user", []FilterComponent{{Type: IP, MatchType: MatchAny}, {Type: User, MatchType: MatchAny}}, ErrInvalid},
	} {
		if _, err := s.Describe(tc.filter, false); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.desc, err, tc.want)
		}
	}
	// Removing the last value removes the entity.
	s = s.With(ip, []Op{{Key: ProducerByteRate, Remove: true}})
	if got := len(s.All()); got != 4 {
		t.Fatalf("after removing the ip quota: %d entries", got)
	}
}

func TestLimitPrecedence(t *testing.T) {
	const ua, ub = "producer_byte_rate\x01user=alice\x01", "producer_byte_rate\x01user=alice\x01client=app\x01"
	const cb = "producer_byte_rate\x01client=app\x01"
	// Each level is added in turn, from the least to the most specific, with
	// value i+1: the newest level must win every time.
	levels := []struct {
		entity []Component
		bucket string
	}{
		{[]Component{{ClientID, nil}}, cb},
		{[]Component{{ClientID, name("app")}}, cb},
		{[]Component{{User, nil}}, ua},
		{[]Component{{User, nil}, {ClientID, nil}}, ub},
		{[]Component{{User, nil}, {ClientID, name("app")}}, ub},
		{[]Component{{User, name("alice")}}, ua},
		{[]Component{{User, name("alice")}, {ClientID, nil}}, ub},
		{[]Component{{User, name("alice")}, {ClientID, name("app")}}, ub},
	}
	s := NewSet(nil)
	if _, ok := s.LimitFor(ProducerByteRate, "alice", "app"); ok {
		t.Fatal("a limit without quotas")
	}
	for i, l := range levels {
		s = s.With(entity(t, l.entity...), []Op{{Key: ProducerByteRate, Value: float64(i + 1)}})
		got, ok := s.LimitFor(ProducerByteRate, "alice", "app")
		if !ok || got.Bucket != l.bucket || got.Value != float64(i+1) {
			t.Fatalf("level %d %+v: %+v %v", i, l.entity, got, ok)
		}
		if _, ok := s.LimitFor(ConsumerByteRate, "alice", "app"); ok {
			t.Fatalf("level %d: a consumer limit from producer quotas", i)
		}
	}
	// Another user falls through to the default user levels, in a bucket of
	// its own.
	if got, _ := s.LimitFor(ProducerByteRate, "bob", "app"); got.Value != 5 || got.Bucket != "producer_byte_rate\x01user=bob\x01client=app\x01" {
		t.Fatalf("bob: %+v", got)
	}
}

func TestThrottler(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottler(time.Second, 5*time.Second, func() time.Time { return now })
	l := Limit{Value: 1000, Bucket: "b"}
	// A window's worth passes unthrottled.
	if d := th.Record(l, 1000); d != 0 {
		t.Fatalf("burst: throttled %v", d)
	}
	// 500 bytes more owe half a second.
	if d := th.Record(l, 500); d != 500*time.Millisecond {
		t.Fatalf("over the burst: %v, want 500ms", d)
	}
	if d := th.Throttled(l); d != 500*time.Millisecond {
		t.Fatalf("owed: %v", d)
	}
	now = now.Add(500 * time.Millisecond)
	if d := th.Throttled(l); d != 0 {
		t.Fatalf("after waiting: %v", d)
	}
	// Throttle times are capped.
	if d := th.Record(l, 100000); d != 5*time.Second {
		t.Fatalf("cap: %v", d)
	}
	// A changed limit starts a fresh account.
	if d := th.Record(Limit{Value: 2000, Bucket: "b"}, 100); d != 0 {
		t.Fatalf("new limit: %v", d)
	}
	// Idle buckets are forgotten.
	now = now.Add(2 * time.Minute)
	th.Record(Limit{Value: 1, Bucket: "other"}, 0)
	if len(th.buckets) != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", len(th.buckets))
	}
}

func TestIPLimit(t *testing.T) {
	const b1, b2 = "connection_creation_rate\x01ip=10.0.0.1\x01", "connection_creation_rate\x01ip=10.0.0.2\x01"
	ipDefault := entity(t, Component{IP, nil})
	ip1 := entity(t, Component{IP, name("10.0.0.1")})
	users := NewSet(nil).With(entity(t, Component{User, nil}), []Op{{Key: ProducerByteRate, Value: 5}})
	for _, tc := range []struct {
		name string
		set  *Set
		ip   string
		want Limit
		ok   bool
	}{
		{"no quotas", NewSet(nil), "10.0.0.1", Limit{}, false},
		{"client quotas only", users, "10.0.0.1", Limit{}, false},
		{"the default", NewSet(nil).With(ipDefault, []Op{{Key: ConnectionCreationRate, Value: 3}}), "10.0.0.2", Limit{3, b2}, true},
		{"the address's own", NewSet(nil).With(ipDefault, []Op{{Key: ConnectionCreationRate, Value: 3}}).
			With(ip1, []Op{{Key: ConnectionCreationRate, Value: 7}}), "10.0.0.1", Limit{7, b1}, true},
		{"names compare as addresses", NewSet(nil).With(entity(t, Component{IP, name("::ffff:10.0.0.1")}), []Op{{Key: ConnectionCreationRate, Value: 9}}),
			"10.0.0.1", Limit{9, b1}, true},
		{"set by NewSet", NewSet([]Entry{{Entity: ip1, Values: map[string]float64{ConnectionCreationRate: 4}}}), "10.0.0.1", Limit{4, b1}, true},
		{"removed", NewSet(nil).With(ip1, []Op{{Key: ConnectionCreationRate, Value: 7}}).With(ip1, []Op{{Key: ConnectionCreationRate, Remove: true}}),
			"10.0.0.1", Limit{}, false},
		{"another address's is not used", NewSet(nil).With(ip1, []Op{{Key: ConnectionCreationRate, Value: 7}}), "10.0.0.2", Limit{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.set.IPLimit(netip.MustParseAddr(tc.ip))
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestThrottlerTryRecordAndRefund(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottler(time.Second, time.Second, func() time.Time { return now })
	l := Limit{Value: 2, Bucket: "ip"} // 2 a second: a burst of 2
	for i := range 2 {
		if d := th.TryRecord(l, 1); d != 0 {
			t.Fatalf("connection %d of the burst throttled %v", i, d)
		}
	}
	// Refused attempts are not charged: however many, the next one after
	// half a second passes.
	for range 5 {
		if d := th.TryRecord(l, 1); d != 500*time.Millisecond {
			t.Fatalf("over the burst: %v, want 500ms", d)
		}
	}
	now = now.Add(500 * time.Millisecond)
	if d := th.TryRecord(l, 1); d != 0 {
		t.Fatalf("after the throttle: %v", d)
	}
	// A refund gives back what Record charged.
	th.Record(l, 1)
	if d := th.Throttled(l); d != 500*time.Millisecond {
		t.Fatalf("owed after Record: %v", d)
	}
	th.Refund(l, 1)
	if d := th.Throttled(l); d != 0 {
		t.Fatalf("owed after Refund: %v", d)
	}
}
