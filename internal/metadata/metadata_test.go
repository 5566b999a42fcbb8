package metadata

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/quota"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestCatalogueIsALogThatSurvivesRestartAndCrash(t *testing.T) {
	mem := vfs.NewMem()
	s, err := Open(mem, "/meta", discard)
	if err != nil {
		t.Fatal(err)
	}
	cluster := s.ClusterID()
	a, err := s.CreateTopic("a", 3, map[string]string{"retention.ms": "1000"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTopic("a", 1, nil, false); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s.CreateTopic("b", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPartitions("a", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPartitions("a", 2); !errors.Is(err, ErrInvalidPartition) {
		t.Fatalf("shrinking partitions: %v", err)
	}
	if err := s.SetConfigs("a", map[string]string{"segment.ms": "5"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTopic("b"); err != nil {
		t.Fatal(err)
	}
	pid1, _ := s.NextProducerID()
	pid2, _ := s.NextProducerID()
	// Every change was synced: a crash keeps all of them.
	crashed := mem.Crash()
	for _, fs := range []vfs.FS{crashed, mem} {
		s.Close()
		s, err = Open(fs, "/meta", discard)
		if err != nil {
			t.Fatal(err)
		}
		if s.ClusterID() != cluster {
			t.Fatalf("cluster id changed: %s → %s", cluster, s.ClusterID())
		}
		got, ok := s.Topic("a")
		if !ok || got.ID != a.ID || got.Partitions != 5 || got.Configs["segment.ms"] != "5" || len(got.Configs) != 1 {
			t.Fatalf("topic a after reopen: %+v", got)
		}
		if _, ok := s.Topic("b"); ok {
			t.Fatal("deleted topic b is back")
		}
		if byID, ok := s.TopicByID(a.ID); !ok || byID.Name != "a" {
			t.Fatal("topic id lookup lost")
		}
		// Producer ids are never reused, even after a crash.
		pid3, err := s.NextProducerID()
		if err != nil || pid3 <= pid2 || pid3 == pid1 {
			t.Fatalf("producer id %d after %d and %d", pid3, pid1, pid2)
		}
	}
	s.Close()
}

func TestACLsSurviveACrash(t *testing.T) {
	mem := vfs.NewMem()
	s, err := Open(mem, "/meta", discard)
	if err != nil {
		t.Fatal(err)
	}
	read := acl.Binding{ResourceType: acl.ResourceTopic, ResourceName: "orders", PatternType: acl.PatternLiteral,
		Principal: "User:alice", Host: "*", Operation: acl.OpRead, Permission: acl.PermissionAllow}
	write := read
	write.Operation = acl.OpWrite
	group := read
	group.ResourceType, group.ResourceName = acl.ResourceGroup, "g"
	if err := s.CreateACLs([]acl.Binding{read, write, group, read}); err != nil {
		t.Fatal(err)
	}
	topicsOnly := acl.Filter{ResourceType: acl.ResourceTopic, PatternType: acl.PatternAny, Operation: acl.OpWrite, Permission: acl.PermissionAny}
	matched, err := s.DeleteACLs([]acl.Filter{topicsOnly, topicsOnly})
	if err != nil {
		t.Fatal(err)
	}
	if len(matched) != 2 || len(matched[0]) != 1 || matched[0][0] != write || len(matched[1]) != 1 {
		t.Fatalf("deleted %+v, want the write binding for each filter", matched)
	}
	s.Close()
	s, err = Open(mem.Crash(), "/meta", discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.ACLs().All(); len(got) != 2 || !s.ACLs().Contains(read) || !s.ACLs().Contains(group) {
		t.Fatalf("ACLs after a crash: %+v", got)
	}
}

func TestClientQuotasSurviveACrash(t *testing.T) {
	mem := vfs.NewMem()
	s, err := Open(mem, "/meta", discard)
	if err != nil {
		t.Fatal(err)
	}
	alice := "alice"
	user, err := quota.NewEntity([]quota.Component{{Type: quota.User, Name: &alice}})
	if err != nil {
		t.Fatal(err)
	}
	defaultClient, err := quota.NewEntity([]quota.Component{{Type: quota.ClientID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []struct {
		e   quota.Entity
		ops []quota.Op
	}{
		{user, []quota.Op{{Key: quota.ProducerByteRate, Value: 1024}, {Key: quota.ConsumerByteRate, Value: 2048}}},
		{defaultClient, []quota.Op{{Key: quota.RequestPercentage, Value: 25.5}}},
		{user, []quota.Op{{Key: quota.ConsumerByteRate, Remove: true}}},
	} {
		if err := s.AlterClientQuotas(change.e, change.ops); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(mem.Crash(), "/meta", discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if l, ok := s.ClientQuotas().LimitFor(quota.ProducerByteRate, "alice", "any"); !ok || l.Value != 1024 {
		t.Fatalf("alice's producer quota after a crash: %+v %v", l, ok)
	}
	if _, ok := s.ClientQuotas().LimitFor(quota.ConsumerByteRate, "alice", "any"); ok {
		t.Fatal("a removed quota came back")
	}
	if l, ok := s.ClientQuotas().LimitFor(quota.RequestPercentage, "bob", "any"); !ok || l.Value != 25.5 {
		t.Fatalf("the default client's quota after a crash: %+v %v", l, ok)
	}
}
