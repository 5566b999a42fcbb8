package conn

import (
	"context"
	"errors"
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
	finish := func(resp kmsg.Response) {
		if finished.Swap(true) {
			log.Error("deferred response finished twice; ignoring the second", "correlation_id", p.corr)
			return
		}
		s.writeParked(c, out, p, resp, pr, log)
	}
	defer func() {
		if r := recover(); r != nil {
			// Whatever Defer left undone, the frame and the reader's
			// wait must still end: answer by closing the connection.
			log.Error("panic while starting a deferred response; closing connection", "panic", r, "stack", string(debug.Stack()))
			finish(Abort)
		}
	}()
	p.reply.Defer(waitCtx, finish)
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
			c.Close()
			pr.failed = true // before done: the reader reads it after
			if !isClosedOrTimeout(err) && !errors.Is(err, errAborted) {
				log.Debug("closing connection: write response", "err", err)
			}
		}
		pr.cancel()
		close(pr.done)
	}
	// recoverPanic keeps a panic from taking down the calling goroutine,
	// which may serve another connection: this one closes instead.
	recoverPanic := func() {
		if r := recover(); r != nil {
			log.Error("panic while writing a deferred response; closing connection", "panic", r, "stack", string(debug.Stack()))
			if completed {
				c.Close()
			} else {
				complete(errAborted)
			}
		}
	}
	defer recoverPanic()
	if resp == Abort {
		complete(errAborted)
		return
	}
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
		pieces = net.Buffers{out.buf}
		if cap(out.buf) > 4<<20 {
			out.buf = nil // do not pin a huge buffer per idle connection
		}
	}
	// Without a fresh deadline the write fails once the connection has
	// been idle for longer than the idle timeout (a consumer that only
	// long-polls never gets a response written by the reader).
	out.deadline.refresh(s.cfg.IdleTimeout, c.SetWriteDeadline)
	rest, err := writeNonBlocking(c, pieces)
	if err != nil || len(rest) == 0 {
		complete(err)
		return
	}
	// The client is not reading fast enough: finish the write on a
	// goroutine of its own rather than block the caller.
	go func() {
		defer recoverPanic()
		_, err := rest.WriteTo(c)
		complete(err)
	}()
}

// awaitDeferred runs a deferred response on the calling goroutine (the
// connection's writer, when earlier responses are still unwritten).
func awaitDeferred(ctx context.Context, start func(context.Context, func(kmsg.Response)), log *slog.Logger) kmsg.Response {
	ch := make(chan kmsg.Response, 1)
	var finished atomic.Bool
	finish := func(resp kmsg.Response) {
		if !finished.Swap(true) {
			ch <- resp
		}
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic while starting a deferred response", "panic", r, "stack", string(debug.Stack()))
				finish(Abort)
			}
		}()
		start(ctx, finish)
	}()
	return <-ch
}

// Abort, given to a deferred response's finish, closes the connection
// instead of answering (the request could not be served, say after a panic).
var Abort kmsg.Response = abortResponse{}

// abortResponse only marks Abort; it is never encoded.
type abortResponse struct{ kmsg.Response }

var errAborted = errors.New("deferred response aborted")

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
