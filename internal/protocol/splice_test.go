package protocol

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchResponse builds a fetch response of version v with one partition per
// entry of records; records[i] == nil leaves that partition's field empty.
func fetchResponse(v int16, records [][]byte, spliced bool) (*kmsg.FetchResponse, [][]byte) {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = v
	t := kmsg.NewFetchResponseTopic()
	t.Topic = "clicks"
	var data [][]byte
	for i, r := range records {
		p := kmsg.NewFetchResponseTopicPartition()
		p.Partition = int32(i)
		p.HighWatermark = int64(1000 + i)
		p.RecordBatches = []byte{}
		if r != nil {
			if spliced {
				p.RecordBatches = AppendMarker(nil, len(data))
				data = append(data, r)
			} else {
				p.RecordBatches = r
			}
		}
		t.Partitions = append(t.Partitions, p)
	}
	resp.Topics = append(resp.Topics, t)
	return resp, data
}

func TestAppendSplicedResponseMatchesCopiedEncoding(t *testing.T) {
	sizes := [][]int{
		{10},
		{0, 5, 0},
		{126, 127, 128},         // around the one-byte uvarint limit
		{16, 1 << 14, 70000, 3}, // marker-sized data and multi-byte lengths
	}
	for _, v := range []int16{4, 7, 11, 12} {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("v%d/%v", v, sz), func(t *testing.T) {
				var records [][]byte
				for i, n := range sz {
					records = append(records, bytes.Repeat([]byte{byte('a' + i)}, n))
				}
				plain, _ := fetchResponse(v, records, false)
				want := AppendResponse(nil, 42, plain)

				spliced, data := fetchResponse(v, records, true)
				prefix := []byte("existing")
				framing, vec, err := AppendSplicedResponse(prefix, nil, 42, spliced, data)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(framing, []byte("existing")) {
					t.Fatal("framing did not keep what was in its buffer")
				}
				got := bytes.Join(vec, nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("spliced frame differs from the copied encoding:\n got %x\nwant %x", got, want)
				}
				if len(vec) != 2*len(data)+1 {
					t.Fatalf("vector has %d pieces for %d spliced fields", len(vec), len(data))
				}
				// The data is not copied: the vector holds the caller's slices.
				for i, d := range data {
					if len(d) > 0 && &vec[2*i+1][0] != &d[0] {
						t.Fatalf("data %d was copied", i)
					}
				}
			})
		}
	}
}

func TestAppendSplicedResponseMissingMarker(t *testing.T) {
	resp, _ := fetchResponse(12, [][]byte{[]byte("x")}, false) // no marker in it
	if _, _, err := AppendSplicedResponse(nil, nil, 1, resp, [][]byte{[]byte("x")}); err == nil {
		t.Fatal("a response without its marker was spliced")
	}
}
