package conn

import (
	"context"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/protocol"
)

// parkedResponse is a deferred response (Reply.Defer) the reader has handed
// over: the goroutine that finishes it writes it, and the reader, which
// meanwhile waits for the connection's next request, waits for done before
// processing that request.
type parkedResponse struct {
	done   chan struct{}
	cancel context.CancelFunc // ends the wait early (the reader is leaving)
	failed bool               // the connection must close; set before done
}

// park starts p's deferred response. The reader's output buffers belong to
// the parked response until done is closed.
func (s *Server) park(ctx context.Context, c net.Conn, out *readerOutput, p pending, log *slog.Logger) *parkedResponse {
	waitCtx, cancel := context.WithCancel(ctx)
	pr := &parkedResponse{done: make(chan struct{}), cancel: cancel}
	var finished atomic.Bool
	p.reply.Defer(waitCtx, func(resp kmsg.Response) {
		if finished.Swap(true) {
			log.Error("deferred response finished twice; ignoring the second", "correlation_id", p.corr)
			return
		}
		s.writeParked(c, out, p, resp, pr, log)
	})
	return pr
}

// writeParked writes a finished deferred response on the calling goroutine
// (often another connection's, whose append completed the wait) without
// blocking it: what the socket does not take at once is left to a new
// goroutine. It closes pr.done once the response is written.
func (s *Server) writeParked(c net.Conn, out *readerOutput, p pending, resp kmsg.Response, pr *parkedResponse, log *slog.Logger) {
	var fa FrameAppender
	completed := false
	complete := func(err error) {
		completed = true
		if fa != nil {
			releaseResponse(fa)
			clear(out.vec) // do not pin the released buffers
		}
		s.releaseFrame(p.frame)
		if err != nil {
			pr.failed = true
			if !isClosedOrTimeout(err) {
				log.Debug("closing connection: write response", "err", err)
			}
		}
		pr.cancel()
		close(pr.done)
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while encoding a deferred response; closing connection", "panic", r, "stack", string(debug.Stack()))
			c.Close()
			if !completed {
				complete(nil)
				pr.failed = true
			}
		}
	}()
	if resp == nil {
		complete(nil)
		return
	}
	var pieces net.Buffers
	if f, ok := resp.(FrameAppender); ok {
		var err error
		out.framing, out.vec, err = f.AppendFrame(out.framing[:0], out.vec[:0], p.corr)
		fa = f
		if err != nil {
			complete(err)
			return
		}
		pieces = out.vec
	} else {
		out.buf = protocol.AppendResponse(out.buf[:0], p.corr, resp)
		releaseResponse(resp)
		if cap(out.buf) > 4<<20 {
			defer func() { out.buf = nil }() // do not pin a huge buffer per idle connection
		}
		pieces = net.Buffers{out.buf}
	}
	rest, err := writeNonBlocking(c, pieces)
	if err != nil || len(rest) == 0 {
		complete(err)
		return
	}
	// The client is not reading fast enough: finish the write on a
	// goroutine of its own rather than block the caller.
	go func() {
		out.deadline.refresh(s.cfg.IdleTimeout, c.SetWriteDeadline)
		_, err := rest.WriteTo(c)
		complete(err)
	}()
}

// awaitDeferred runs a deferred response on the calling goroutine (the
// connection's writer, when earlier responses are still unwritten).
func awaitDeferred(ctx context.Context, start func(context.Context, func(kmsg.Response))) kmsg.Response {
	ch := make(chan kmsg.Response, 1)
	var finished atomic.Bool
	start(ctx, func(resp kmsg.Response) {
		if !finished.Swap(true) {
			ch <- resp
		}
	})
	return <-ch
}

// consume drops the first n bytes of b.
func consume(b net.Buffers, n int) net.Buffers {
	for len(b) > 0 && n >= len(b[0]) {
		n -= len(b[0])
		b = b[1:]
	}
	if n > 0 {
		b[0] = b[0][n:]
	}
	return b
}
