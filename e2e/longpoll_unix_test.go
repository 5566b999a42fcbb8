//go:build unix

package e2e

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// Unix only: the consumer shrinks its socket's receive buffer.
func TestStalledConsumerDoesNotBlockProducer(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "stall", 1, nil)
	// A consumer with a tiny receive buffer that does not read: the
	// broker's send buffer fills long before its response is written.
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	consumer := &rawConn{t: t, c: c}
	// It waits for more than the broker's send buffer holds (4 MiB at
	// most), so the append that completes it cannot write it all at once.
	consumer.send(consumer.frame(longPollFetch("stall", 20*time.Second, 6<<20, 16<<20)))
	time.Sleep(200 * time.Millisecond) // let the fetch start waiting

	producer := dial(t, b.Addr)
	big := bytes.Repeat([]byte("x"), 900<<10)
	var sent [][]byte
	for range 8 {
		sent = append(sent, plainBatch(big))
	}
	for i, batch := range sent {
		start := time.Now()
		if p := produceResult(t, producer.roundTrip(produceRequest("stall", batch))); p.ErrorCode != 0 {
			t.Fatalf("produce %d: error code %d", i, p.ErrorCode)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("produce %d took %v: the stalled consumer held up the producer", i, el)
		}
	}
	// The consumer now reads its response: complete, in one piece.
	body, corr, err := consumer.readFrame()
	if err != nil {
		t.Fatalf("read the fetch response: %v", err)
	}
	if corr != consumer.corr {
		t.Fatalf("correlation id %d, want %d", corr, consumer.corr)
	}
	batches, err := record.Split(fetchRecords(t, body))
	if err != nil || len(batches) < 7 {
		t.Fatalf("fetched %d batches, err %v; want the 7 that reach MinBytes", len(batches), err)
	}
	// The base offset and leader epoch are stamped at append; the rest,
	// from the CRC on, is what was sent.
	for i, got := range batches {
		if !bytes.Equal(got[17:], sent[i][17:]) {
			t.Fatalf("fetched batch %d differs from the one produced", i)
		}
	}
}
