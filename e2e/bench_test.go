package e2e

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// BenchmarkProduce measures end-to-end produce throughput of 1 KiB records
// through franz-go with its defaults (idempotent, acks=all) to 6 partitions.
// The client shares the machine with the broker, as in real benchmarks here.
func BenchmarkProduce(b *testing.B) {
	for _, fsync := range []string{"never", "always"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			br := brokertest.Start(b, map[string]string{"samsa.fsync": fsync})
			cl := br.Client(kgo.ProducerLinger(5*time.Millisecond), kgo.DefaultProduceTopic("bench"),
				kgo.ProducerBatchCompression(kgo.NoCompression()),
				kgo.AllowAutoTopicCreation(), kgo.MaxBufferedRecords(100_000))
			if _, err := br.B.Catalog().CreateTopic("bench", 6, nil, false); err != nil {
				b.Fatal(err)
			}
			value := randomValue(16 << 20)
			ctx := context.Background()
			b.SetBytes(1024)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cl.Produce(ctx, &kgo.Record{Value: valueAt(value, i)}, func(_ *kgo.Record, err error) {
					if err != nil {
						b.Error(err)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConsume measures reading 1 KiB records from the start of a
// 6-partition topic.
func BenchmarkConsume(b *testing.B) {
	br := brokertest.Start(b, nil)
	if _, err := br.B.Catalog().CreateTopic("bench", 6, nil, false); err != nil {
		b.Fatal(err)
	}
	producer := br.Client(kgo.ProducerLinger(5*time.Millisecond), kgo.DefaultProduceTopic("bench"),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := randomValue(16 << 20)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		producer.Produce(ctx, &kgo.Record{Value: valueAt(value, i)}, nil)
	}
	if err := producer.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1024)
	b.ResetTimer()
	consumer := br.Client(kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < b.N; {
		fs := consumer.PollFetches(ctx)
		if errs := fs.Errors(); len(errs) > 0 {
			b.Fatal(errs[0].Err)
		}
		n += fs.NumRecords()
	}
}

// randomValue returns incompressible bytes, so compression in the client
// does not flatter the figures.
func randomValue(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// valueAt returns the i-th 1 KiB window of a random pool: distinct records.
func valueAt(pool []byte, i int) []byte {
	off := (i * 1024) % (len(pool) - 1024)
	return pool[off : off+1024]
}
