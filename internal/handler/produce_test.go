package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCollapseRepeatedPartitions(t *testing.T) {
	entry := func(topic string, parts ...int32) kmsg.ProduceRequestTopic {
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		for i, p := range parts {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition, rp.Records = p, []byte(fmt.Sprintf("%s-%d#%d", topic, p, i))
			rt.Partitions = append(rt.Partitions, rp)
		}
		return rt
	}
	many := make([]int32, 100)
	for i := range many {
		many[i] = int32(i)
	}
	for _, tc := range []struct {
		name   string
		topics []kmsg.ProduceRequestTopic
		want   string
	}{
		{"none repeated", []kmsg.ProduceRequestTopic{entry("a", 0, 1), entry("b", 0)}, "a[a-0#0 a-1#1] b[b-0#0]"},
		{"repeated in a topic", []kmsg.ProduceRequestTopic{entry("a", 0, 1, 0)}, "a[a-0#2 a-1#1]"},
		{"topic named twice", []kmsg.ProduceRequestTopic{entry("a", 0), entry("b", 0), entry("a", 1, 0)}, "a[a-0#1 a-1#0] b[b-0#0]"},
		{"many, none repeated", []kmsg.ProduceRequestTopic{entry("m", many...)}, ""},
		{"many, last repeated", []kmsg.ProduceRequestTopic{entry("m", append(many, 99)...)}, "99:m-99#100"},
	} {
		got := collapseRepeatedPartitions(tc.topics)
		var s string
		switch tc.name {
		case "many, none repeated":
			if len(got) != 1 || len(got[0].Partitions) != 100 {
				t.Errorf("%s: %d partitions", tc.name, len(got[0].Partitions))
			}
			continue
		case "many, last repeated":
			ps := got[0].Partitions
			s = fmt.Sprintf("%d:%s", len(ps)-1, ps[len(ps)-1].Records)
		default:
			for i, rt := range got {
				if i > 0 {
					s += " "
				}
				s += rt.Topic + "["
				for j, rp := range rt.Partitions {
					if j > 0 {
						s += " "
					}
					s += string(rp.Records)
				}
				s += "]"
			}
		}
		if s != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, s, tc.want)
		}
	}
}
