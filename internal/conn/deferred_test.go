package conn

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/protocol"
)

// testDispatcher answers ApiVersions at once, FindCoordinator after a
// blocking Await (so later responses go through the connection's writer),
// Metadata with the deferred response defer_ gives and ListOffsets at once,
// with after as its After hook.
type testDispatcher struct {
	defer_ func(ctx context.Context, finish func(kmsg.Response))
	after  func() // the After hook of ListOffsets responses
}

func (d *testDispatcher) Dispatch(_ context.Context, req *Request) Reply {
	switch req.Body.(type) {
	case *kmsg.MetadataRequest:
		return Reply{Defer: d.defer_}
	case *kmsg.FindCoordinatorRequest:
		return Reply{Await: func(context.Context) kmsg.Response {
			time.Sleep(100 * time.Millisecond)
			return req.Body.ResponseKind()
		}}
	case *kmsg.ListOffsetsRequest:
		return Reply{Response: req.Body.ResponseKind(), After: d.after}
	default:
		return Reply{Response: req.Body.ResponseKind()}
	}
}

func (d *testDispatcher) RawSASL(context.Context, *Session, []byte) ([]byte, bool) { return nil, false }

func (d *testDispatcher) Unsupported(context.Context, protocol.Header) (kmsg.Response, bool) {
	return nil, false
}

// startServer serves d on a loopback port until the test ends.
func startServer(t *testing.T, d Dispatcher) (*Server, string) {
	t.Helper()
	s := NewServer(Config{Logger: slog.New(slog.DiscardHandler)}, d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(context.Background(), ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, ln.Addr().String()
}

// pipeline sends reqs (correlation ids 1, 2, ...) in one write.
func pipeline(t *testing.T, addr string, reqs ...kmsg.Request) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test"))
	var buf []byte
	for i, r := range reqs {
		// AppendRequest sizes the frame from the start of its dst.
		buf = append(buf, f.AppendRequest(nil, r, int32(i+1))...)
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
	return c
}

// readCorrelationIDs reads responses until the connection ends or want are
// read, and returns their correlation ids and the error that ended it.
func readCorrelationIDs(c net.Conn, want int) ([]int32, error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ids []int32
	for len(ids) < want {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return ids, err
		}
		ids = append(ids, int32(binary.BigEndian.Uint32(hdr[4:])))
		if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:4]))-4); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// awaitNoReservedMemory fails unless every request frame's memory is
// released soon: a frame leaked by a failed deferred response would hold
// it for ever.
func awaitNoReservedMemory(t *testing.T, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); s.mem.used.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of request frames still reserved", s.mem.used.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func later(f func()) { time.AfterFunc(30*time.Millisecond, f) }

func TestDeferredResponses(t *testing.T) {
	answer := func(_ context.Context, finish func(kmsg.Response)) {
		later(func() { finish(kmsg.NewPtrMetadataResponse()) })
	}
	abort := func(_ context.Context, finish func(kmsg.Response)) {
		later(func() { finish(Abort) })
	}
	panics := func(context.Context, func(kmsg.Response)) { panic("defer failed") }
	finishPanics := func(_ context.Context, finish func(kmsg.Response)) {
		later(func() { finish(panickingResponse{kmsg.NewPtrMetadataResponse()}) })
	}
	apiVersions := kmsg.NewPtrApiVersionsRequest()
	metadata := kmsg.NewPtrMetadataRequest()
	slow := kmsg.NewPtrFindCoordinatorRequest()
	for _, tc := range []struct {
		name   string
		defer_ func(context.Context, func(kmsg.Response))
		reqs   []kmsg.Request
		want   []int32
		closes bool // the connection closes after want
	}{
		{"answered later, in order", answer, []kmsg.Request{metadata, apiVersions}, []int32{1, 2}, false},
		{"written by the writer", answer, []kmsg.Request{slow, metadata, apiVersions}, []int32{1, 2, 3}, false},
		{"abort closes", abort, []kmsg.Request{metadata, apiVersions}, nil, true},
		{"abort closes, writer", abort, []kmsg.Request{slow, metadata, apiVersions}, []int32{1}, true},
		{"panic in Defer closes", panics, []kmsg.Request{metadata, apiVersions}, nil, true},
		{"panic in Defer closes, writer", panics, []kmsg.Request{slow, metadata, apiVersions}, []int32{1}, true},
		{"panic while encoding closes", finishPanics, []kmsg.Request{metadata, apiVersions}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := startServer(t, &testDispatcher{defer_: tc.defer_})
			c := pipeline(t, addr, tc.reqs...)
			n := len(tc.want)
			if tc.closes {
				n = len(tc.reqs) // read until the close
			}
			ids, err := readCorrelationIDs(c, n)
			if len(ids) != len(tc.want) {
				t.Fatalf("got responses %v (then %v), want %v", ids, err, tc.want)
			}
			for i := range ids {
				if ids[i] != tc.want[i] {
					t.Fatalf("got responses %v, want %v", ids, tc.want)
				}
			}
			if tc.closes && !errors.Is(err, io.EOF) && !isConnReset(err) {
				t.Fatalf("connection not closed: %v", err)
			}
			c.Close()
			awaitNoReservedMemory(t, s)
		})
	}
}

// panickingResponse fails while being encoded.
type panickingResponse struct{ *kmsg.MetadataResponse }

func (panickingResponse) AppendTo([]byte) []byte { panic("encode failed") }

// Shutdown ends a deferred wait through its context; it does not wait for
// the wait to end by itself.
func TestShutdownEndsDeferredWait(t *testing.T) {
	waiting := make(chan struct{})
	s, addr := startServer(t, &testDispatcher{defer_: func(ctx context.Context, finish func(kmsg.Response)) {
		close(waiting)
		context.AfterFunc(ctx, func() { finish(kmsg.NewPtrMetadataResponse()) })
	}})
	c := pipeline(t, addr, kmsg.NewPtrMetadataRequest())
	<-waiting
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Shutdown took %v with a deferred response waiting", el)
	}
	if ids, err := readCorrelationIDs(c, 1); len(ids) != 1 {
		t.Fatalf("the waiting request was not answered before the close: %v", err)
	}
}

// After runs once the response is written, so what it does (completing
// other connections' fetches) cannot delay the response.
func TestAfterRunsOnceResponseIsWritten(t *testing.T) {
	clientGot, afterRan := make(chan struct{}), make(chan struct{})
	_, addr := startServer(t, &testDispatcher{after: func() {
		defer close(afterRan)
		select {
		case <-clientGot:
		case <-time.After(2 * time.Second):
			t.Error("After ran before the response was written")
		}
	}})
	c := pipeline(t, addr, kmsg.NewPtrListOffsetsRequest())
	if ids, err := readCorrelationIDs(c, 1); len(ids) != 1 {
		t.Fatalf("no response: %v", err)
	}
	close(clientGot)
	select {
	case <-afterRan:
	case <-time.After(5 * time.Second):
		t.Fatal("After never ran")
	}
}
