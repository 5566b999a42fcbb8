// Package conn serves Kafka connections: it accepts sockets, reads
// size-prefixed request frames, hands each decoded request to a Dispatcher in
// arrival order, and writes the responses back strictly in request order.
//
// Each connection has two goroutines. The reader decodes and dispatches; the
// writer waits for each reply in order (a reply may be deferred: produce waits
// for durability, fetch long-polls, group joins block) and batches every
// ready response into one write. The reader may run ahead of the writer by at
// most MaxInFlight requests, so reading the next request overlaps the
// processing of the previous one without unbounded buffering. When the writer
// has nothing left to write and a reply is ready at once, the reader writes
// it itself: request/response clients (one request in flight, the common
// case for metadata, heartbeats and synchronous produce) then cost no
// goroutine handoff per request. A deferred reply (a fetch long poll) is
// written by the goroutine that finishes it, which is usually another
// connection's, whose append completed it.
package conn

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/protocol"
)

// Request is one decoded request handed to the Dispatcher.
type Request struct {
	Header protocol.Header
	Body   kmsg.Request
	Conn   *Session
}

// Reply is the Dispatcher's answer to a request.
type Reply struct {
	// Response is sent as is, unless Await is set.
	Response kmsg.Response
	// Await, when set, is called by the connection's writer, in request
	// order, to obtain the response; it may block (durability waits, long
	// polls, group rebalances). A nil result means no response is sent.
	Await func(ctx context.Context) kmsg.Response
	// Close closes the connection after any response is written.
	Close bool
	// After, when set, runs once the response is written or queued for
	// the connection's writer (or the connection failed): work the request
	// caused that must not delay its response. Produce completes the
	// fetches its appends satisfied here, as Kafka does after queuing the
	// produce response.
	After func()
	// Defer, when set, starts a wait that ends on another goroutine: it is
	// called once, in request order, and some goroutine later calls finish
	// exactly once with the response (nil for none, Abort to close the
	// connection instead), possibly before Defer returns. When no earlier
	// response is unwritten, finish writes the response itself on the
	// goroutine that calls it, so a long poll completed by an append costs
	// no wake-up of this connection's goroutines; the connection processes
	// its next request only after that, as Kafka does. ctx ends when the
	// connection closes or the server shuts down, and the wait must then
	// finish promptly.
	Defer func(ctx context.Context, finish func(kmsg.Response))
}

// Releaser is implemented by responses holding pooled buffers; Release is
// called once the response has been written (or dropped).
type Releaser interface {
	Release()
}

// FrameAppender is implemented by responses that frame themselves around
// data they do not copy (fetched record batches): AppendFrame appends the
// bytes it encodes to framing and the frame's pieces, in order, to vec. The
// writer sends vec with one vectored write, then releases the response.
type FrameAppender interface {
	AppendFrame(framing []byte, vec net.Buffers, corr int32) ([]byte, net.Buffers, error)
}

// Dispatcher handles requests. Dispatch is called from the connection's
// reader goroutine, one request at a time and in arrival order, so work it
// does synchronously (such as appending a produce batch) is ordered.
type Dispatcher interface {
	Dispatch(ctx context.Context, req *Request) Reply
	// Unsupported answers a request whose key or version the broker does not
	// serve; it returns ok=false when the connection should be closed instead.
	Unsupported(ctx context.Context, hdr protocol.Header) (resp kmsg.Response, ok bool)
	// RawSASL takes one bare SASL token of a connection in Kafka 0.10's
	// framing (after a SaslHandshake v0) and returns the token to send
	// back, or ok=false to close the connection.
	RawSASL(ctx context.Context, sess *Session, token []byte) (reply []byte, ok bool)
}

// Config configures a Server.
type Config struct {
	MaxRequestBytes int32 // socket.request.max.bytes
	MaxInFlight     int   // requests read ahead of the writer per connection
	// MaxQueuedBytes bounds the request bytes read but not yet answered
	// across all connections (queued.max.request.bytes); 0 means 512 MiB.
	MaxQueuedBytes int64
	IdleTimeout    time.Duration
	TLS            *tls.Config // nil for PLAINTEXT
	Listener       string      // listener name, for logs and security decisions
	SASL           bool        // the listener requires SASL authentication
	// CertPrincipal names the principal of a client that presented a
	// verified certificate (an SSL listener with ssl.client.auth); nil
	// leaves such clients ANONYMOUS. An error fails the connection's
	// authentication: it is closed.
	CertPrincipal func(*x509.Certificate) (string, error)
	// Limits, shared by every listener of the broker, bounds the
	// connections accepted; nil is no limit.
	Limits *Limits
	Logger *slog.Logger
}

// Session is per-connection state visible to handlers (authentication).
type Session struct {
	RemoteAddr string
	Listener   string
	TLS        bool
	// NeedsSASL is set on SASL listeners until authentication succeeds.
	NeedsSASL atomic.Bool
	// RawSASL is set by a SaslHandshake v0: the frames that follow are
	// bare SASL tokens, not requests, until authentication ends.
	RawSASL   atomic.Bool
	mu        sync.Mutex
	principal string
	mechanism string
	tokenAuth bool // authenticated with a delegation token
	// named is set once an authentication named the principal (SASL or a
	// client certificate, whose mapped name may even be empty, as Kafka's
	// User: is); until then the client is ANONYMOUS.
	named bool
	// Auth is a mechanism-specific SASL exchange in progress, owned by the
	// handler that set it.
	Auth any
	// sessionExpiry (unix nanoseconds, 0: never) is when the SASL
	// authentication ends (connections.max.reauth.ms, KIP-368): from then
	// on only a re-authentication is served.
	sessionExpiry atomic.Int64
	// reauthStarted (unix nanoseconds) is when the last re-authentication
	// began; Kafka allows one a second.
	reauthStarted atomic.Int64
	// throttledUntil (unix nanoseconds) is when a quota's throttle ends:
	// the connection processes no further request before then, as Kafka
	// mutes a throttled client's channel.
	throttledUntil atomic.Int64
}

// Throttle holds the connection's next request back for d (a quota's
// throttle time), extending any throttle already in force.
func (s *Session) Throttle(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		old := s.throttledUntil.Load()
		if old >= until || s.throttledUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// waitThrottle waits out a throttle in force; false means ctx ended first.
func (s *Session) waitThrottle(ctx context.Context) bool {
	left := time.Until(time.Unix(0, s.throttledUntil.Load()))
	if left <= 0 {
		return true
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Principal returns the authenticated user, or "ANONYMOUS".
func (s *Session) Principal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.named {
		return "ANONYMOUS"
	}
	return s.principal
}

// SetAuthenticated records a successful SASL authentication; token is set
// when the client authenticated with a delegation token.
func (s *Session) SetAuthenticated(principal, mechanism string, token bool) {
	s.mu.Lock()
	s.principal, s.mechanism, s.tokenAuth, s.named = principal, mechanism, token, true
	s.mu.Unlock()
	s.NeedsSASL.Store(false)
}

// TokenAuthenticated reports whether the client authenticated with a
// delegation token.
func (s *Session) TokenAuthenticated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenAuth
}

// SetSessionExpiry sets when the SASL authentication ends (zero: never).
func (s *Session) SetSessionExpiry(t time.Time) {
	if t.IsZero() {
		s.sessionExpiry.Store(0)
		return
	}
	s.sessionExpiry.Store(t.UnixNano())
}

// SessionExpired reports whether the SASL authentication has ended, so
// the connection may only re-authenticate.
func (s *Session) SessionExpired(now func() time.Time) bool {
	exp := s.sessionExpiry.Load()
	return exp != 0 && now().UnixNano() > exp
}

// SessionExpires reports whether the SASL authentication has a lifetime,
// which is when the client may re-authenticate.
func (s *Session) SessionExpires() bool { return s.sessionExpiry.Load() != 0 }

// StartReauthentication records that a re-authentication begins now, and
// reports false when one began less than a second ago (Kafka's limit).
func (s *Session) StartReauthentication(now time.Time) bool {
	last := s.reauthStarted.Load()
	if last != 0 && now.UnixNano()-last < int64(time.Second) {
		return false
	}
	s.reauthStarted.Store(now.UnixNano())
	return true
}

// SetMechanism records the mechanism chosen in SaslHandshake.
func (s *Session) SetMechanism(m string) {
	s.mu.Lock()
	s.mechanism = m
	s.mu.Unlock()
}

// Mechanism returns the SASL mechanism chosen in SaslHandshake.
func (s *Session) Mechanism() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mechanism
}

// Server accepts connections on one listener.
type Server struct {
	cfg  Config
	disp Dispatcher
	log  *slog.Logger

	bufs *bufferPools
	mem  *requestMemory
	// draining is cancelled by Shutdown: waiting requests (long polls,
	// group joins) answer with what they have instead of running out their
	// timers.
	draining     context.Context
	stopDraining context.CancelFunc

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
}

// NewServer returns a server that hands requests to d.
func NewServer(cfg Config, d Dispatcher) *Server {
	if cfg.MaxInFlight <= 0 {
		// Clients keep at most 5 produce requests in flight; a little more
		// lets metadata and heartbeats queue behind them. Each queued
		// request may hold a frame of up to MaxRequestBytes.
		cfg.MaxInFlight = 16
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 100 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxQueuedBytes <= 0 {
		cfg.MaxQueuedBytes = 512 << 20
	}
	draining, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, disp: d, log: cfg.Logger, conns: map[net.Conn]struct{}{}, bufs: new(bufferPools),
		mem:      newRequestMemory(cfg.MaxQueuedBytes),
		draining: draining, stopDraining: stop}
}

// Serve accepts connections on ln until ctx is cancelled or Shutdown is
// called. It returns nil after a shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	// An acceptor waiting for a connection slot gives up at shutdown.
	admitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.draining, cancel)()
	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Transient accept errors (EMFILE, ...): back off and retry.
			if tempDelay == 0 {
				tempDelay = 5 * time.Millisecond
			} else if tempDelay < time.Second {
				tempDelay *= 2
			}
			s.log.Warn("accept failed", "err", err, "retry_in", tempDelay)
			time.Sleep(tempDelay)
			continue
		}
		tempDelay = 0
		ip := remoteIP(c)
		if !s.admit(admitCtx, c, ip) {
			if admitCtx.Err() != nil {
				return nil
			}
			continue
		}
		if s.cfg.TLS != nil {
			c = tls.Server(c, s.cfg.TLS)
		}
		if !s.track(c) {
			c.Close()
			s.cfg.Limits.release(s.cfg.Listener, ip)
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.cfg.Limits.release(s.cfg.Listener, ip)
			defer s.untrack(c)
			s.serveConn(ctx, c)
		}()
	}
}

// admit applies the connection limits to c, accepted from ip, and reports
// whether to serve it; a refused connection is closed (or will be).
func (s *Server) admit(ctx context.Context, c net.Conn, ip netip.Addr) bool {
	if s.cfg.Limits == nil {
		return true
	}
	v, err := s.cfg.Limits.Admit(ctx, s.cfg.Listener, ip)
	switch {
	case err != nil:
		c.Close()
		return false
	case v.Throttle > 0:
		s.log.Debug("closing connection over its address's connection_creation_rate after the throttle time",
			"remote", c.RemoteAddr().String(), "listener", s.cfg.Listener, "throttle", v.Throttle)
		s.closeAfter(c, v.Throttle)
		return false
	case !v.Admitted:
		s.log.Info("rejected connection: its address already has the configured maximum of connections",
			"remote", c.RemoteAddr().String(), "listener", s.cfg.Listener, "max_connections_per_ip", v.Max)
		c.Close()
		return false
	}
	return true
}

// closeAfter closes c after d, or at shutdown if sooner. As Kafka, a
// connection refused for its address's connection rate is held open for
// the throttle time, so the client does not reconnect at once.
func (s *Server) closeAfter(c net.Conn, d time.Duration) {
	if !s.track(c) {
		c.Close()
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.draining.Done():
		}
		c.Close()
	}()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	// Added under s.mu, so Shutdown's Wait (after it sets closed under the
	// same lock) always counts this connection.
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, lets each connection finish the requests it has
// read (their responses are written), then closes it. It waits until every
// connection is done or ctx ends, then force-closes the rest.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	s.stopDraining()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		// Unblock readers; the read loop sees the deadline, stops reading
		// new requests, and the writer drains what was already read.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	}
}

// maxUnauthenticatedBytes bounds a frame read before SASL authentication
// completes (Kafka's sasl.server.max.receive.size default).
const maxUnauthenticatedBytes = 512 << 10

// pending is a request whose response the writer still has to send.
type pending struct {
	corr  int32
	reply Reply
	frame *[]byte // request buffer, released after the response is written
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	remote := c.RemoteAddr().String()
	log := s.log.With("remote", remote, "listener", s.cfg.Listener)
	sess := &Session{RemoteAddr: remote, Listener: s.cfg.Listener, TLS: s.cfg.TLS != nil}
	sess.NeedsSASL.Store(s.cfg.SASL)
	if tc, ok := c.(*tls.Conn); ok && s.cfg.CertPrincipal != nil {
		principal, ok, err := s.certificatePrincipal(ctx, tc)
		if err != nil {
			log.Info("SSL authentication failed; closing connection", "err", err)
			c.Close()
			return
		}
		sess.principal, sess.named = principal, ok
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.draining, cancel)()

	queue := make(chan pending, s.cfg.MaxInFlight)
	writerDone := make(chan struct{})
	var unwritten atomic.Int32
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx, c, queue, &unwritten, log)
		cancel()
	}()
	s.readLoop(ctx, c, sess, queue, &unwritten, writerDone, log)
	close(queue)
	<-writerDone
	c.Close()
}

// certificatePrincipal completes c's TLS handshake (within the idle
// timeout, as the first read would) and returns the principal of the client
// certificate; ok is false when the client sent none
// (ssl.client.auth=requested).
func (s *Server) certificatePrincipal(ctx context.Context, c *tls.Conn) (principal string, ok bool, err error) {
	if s.cfg.IdleTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.IdleTimeout)
		defer cancel()
	}
	if err := c.HandshakeContext(ctx); err != nil {
		return "", false, fmt.Errorf("TLS handshake: %w", err)
	}
	certs := c.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", false, nil
	}
	principal, err = s.cfg.CertPrincipal(certs[0])
	return principal, err == nil, err
}

// readLoop reads, decodes and dispatches requests. unwritten counts the
// requests handed to the writer whose responses are not yet written; only
// when it is zero may the reader write a ready response itself, which keeps
// responses in request order without a lock (the writer writes only while
// it is not zero, and only the reader increments it).
func (s *Server) readLoop(ctx context.Context, c net.Conn, sess *Session, queue chan<- pending, unwritten *atomic.Int32, writerDone <-chan struct{}, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while reading request; closing connection", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	var readDeadline deadline
	var out readerOutput // responses the reader writes itself
	var parked *parkedResponse
	defer func() {
		// The deferred response must be written (or fail) before the
		// connection's buffers go away.
		if parked != nil {
			parked.cancel()
			<-parked.done
		}
	}()
	for !s.isClosed() {
		if readDeadline.refresh(s.cfg.IdleTimeout, c.SetReadDeadline) && s.isClosed() {
			// Shutdown may have set its deadline just before ours.
			return
		}
		var size int32
		var err error
		switch {
		case sess.RawSASL.Load():
			size, err = protocol.ReadTokenSize(br, min(s.cfg.MaxRequestBytes, maxUnauthenticatedBytes))
		case sess.NeedsSASL.Load():
			// As Kafka's sasl.server.max.receive.size: a client that has
			// not authenticated cannot make the broker hold large buffers.
			size, err = protocol.ReadFrameSize(br, min(s.cfg.MaxRequestBytes, maxUnauthenticatedBytes))
		default:
			size, err = protocol.ReadFrameSize(br, s.cfg.MaxRequestBytes)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !isClosedOrTimeout(err) {
				log.Warn("closing connection", "err", err)
			}
			return
		}
		if !s.mem.acquire(ctx, int64(size)) {
			return
		}
		frame := s.bufs.get(int(size))
		if _, err := io.ReadFull(br, *frame); err != nil {
			s.releaseFrame(frame)
			if !isClosedOrTimeout(err) {
				log.Warn("closing connection: short frame", "err", err)
			}
			return
		}
		if sess.RawSASL.Load() {
			if !s.rawSASL(ctx, c, sess, frame, unwritten, log) {
				return
			}
			continue
		}
		if parked != nil {
			// As Kafka, a request is processed only once the response to
			// the one before it is sent.
			<-parked.done
			failed := parked.failed
			parked = nil
			if failed {
				s.releaseFrame(frame)
				return
			}
		}
		if !sess.waitThrottle(ctx) {
			s.releaseFrame(frame)
			return
		}
		p, ok := s.decodeAndDispatch(ctx, sess, frame, log)
		if !ok {
			s.releaseFrame(frame)
			return
		}
		var keep bool
		parked, keep = s.handOff(ctx, c, &out, p, queue, unwritten, writerDone, log)
		if !keep {
			return
		}
	}
}

// rawSASL answers one bare SASL token with a bare, size-prefixed token. It
// reports false when the connection must close.
func (s *Server) rawSASL(ctx context.Context, c net.Conn, sess *Session, frame *[]byte, unwritten *atomic.Int32, log *slog.Logger) bool {
	defer s.releaseFrame(frame)
	if unwritten.Load() != 0 {
		// A v0 client sends its token only after reading the handshake's
		// response; anything else is not a SASL client.
		log.Warn("closing connection: SASL token pipelined behind a request")
		return false
	}
	reply, ok := s.disp.RawSASL(ctx, sess, *frame)
	if !ok {
		return false
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(reply)), uint32(len(reply)))
	if _, err := c.Write(append(out, reply...)); err != nil {
		log.Debug("closing connection: write SASL token", "err", err)
		return false
	}
	return true
}

// handOff sends p's response on its way: the reader writes a ready response
// itself when the writer is idle, parks a deferred one, and otherwise queues
// it for the writer. It then runs p's After hook. It reports false when the
// connection must close.
func (s *Server) handOff(ctx context.Context, c net.Conn, out *readerOutput, p pending, queue chan<- pending, unwritten *atomic.Int32, writerDone <-chan struct{}, log *slog.Logger) (*parkedResponse, bool) {
	if p.reply.After != nil {
		defer p.reply.After() // even if the connection fails: it may complete others' waits
	}
	if unwritten.Load() == 0 {
		switch {
		case p.reply.Defer != nil:
			// Whoever finishes it writes the response; meanwhile this
			// goroutine waits for the next request.
			return s.park(ctx, c, out, p, log), !p.reply.Close
		case p.reply.Await == nil:
			// The writer is idle and the response is ready: write it here.
			return nil, s.writeReady(ctx, c, out, p, log) && !p.reply.Close
		}
	}
	// Once dispatched, a request is always handed to the writer (its side
	// effects, such as an append, have happened), unless the writer is gone
	// because the connection failed.
	unwritten.Add(1)
	select {
	case queue <- p:
	case <-writerDone:
		s.releaseFrame(p.frame)
		return nil, false
	}
	return nil, !p.reply.Close
}

func (s *Server) decodeAndDispatch(ctx context.Context, sess *Session, frame *[]byte, log *slog.Logger) (pending, bool) {
	hdr, req, err := protocol.ParseRequest(*frame)
	if err != nil {
		key, version, corr, _ := protocol.PeekHeader(*frame)
		hdr := protocol.Header{Key: key, Version: version, CorrelationID: corr}
		if resp, ok := s.disp.Unsupported(ctx, hdr); ok {
			return pending{corr: corr, reply: Reply{Response: resp}, frame: frame}, true
		}
		log.Warn("closing connection: undecodable request", "api_key", key, "api_version", version, "err", err)
		return pending{}, false
	}
	r := &Request{Header: hdr, Body: req, Conn: sess}
	reply := s.disp.Dispatch(ctx, r)
	return pending{corr: hdr.CorrelationID, reply: reply, frame: frame}, true
}

// readerOutput is the reader's state for the responses it writes itself.
type readerOutput struct {
	buf      []byte
	framing  []byte      // encoded parts of FrameAppender responses
	vec      net.Buffers // their pieces
	deadline deadline
}

// writeReady obtains (running Await, if set) and writes a response from the
// reader, and releases the request's frame, even if encoding panics. It
// returns false when the connection must close.
func (s *Server) writeReady(ctx context.Context, c net.Conn, out *readerOutput, p pending, log *slog.Logger) bool {
	defer s.releaseFrame(p.frame)
	resp := p.reply.Response
	if p.reply.Await != nil {
		resp = p.reply.Await(ctx)
	}
	if resp == nil {
		return true
	}
	var err error
	if fa, ok := resp.(FrameAppender); ok {
		err = s.writeFrame(c, fa, p.corr, &out.framing, &out.vec, &out.deadline)
	} else {
		out.buf = protocol.AppendResponse(out.buf[:0], p.corr, resp)
		releaseResponse(resp)
		out.deadline.refresh(s.cfg.IdleTimeout, c.SetWriteDeadline)
		_, err = c.Write(out.buf)
		if cap(out.buf) > 4<<20 {
			out.buf = nil // do not pin a huge buffer per idle connection
		}
	}
	if err != nil {
		if !isClosedOrTimeout(err) {
			log.Debug("closing connection: write response", "err", err)
		}
		return false
	}
	return true
}

// writeFrame writes a FrameAppender response with one vectored write and
// releases it. framing and vec are the caller's reused buffers.
func (s *Server) writeFrame(c net.Conn, fa FrameAppender, corr int32, framing *[]byte, vec *net.Buffers, wd *deadline) error {
	var err error
	*framing, *vec, err = fa.AppendFrame((*framing)[:0], (*vec)[:0], corr)
	if err == nil {
		wd.refresh(s.cfg.IdleTimeout, c.SetWriteDeadline)
		pieces := *vec // WriteTo consumes its receiver
		_, err = pieces.WriteTo(c)
	}
	releaseResponse(fa)
	clear(*vec) // do not pin the released buffers
	return err
}

// writeLoop writes the responses of the requests the reader queued, in
// order, and decrements unwritten once each is on the socket.
func (s *Server) writeLoop(ctx context.Context, c net.Conn, queue <-chan pending, unwritten *atomic.Int32, log *slog.Logger) {
	var buf []byte
	var release []*[]byte
	var writeDeadline deadline
	var framing []byte  // encoded parts of FrameAppender responses
	var vec net.Buffers // their pieces
	var current *[]byte // the frame of the request being answered
	closeAfter := false
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while handling request; closing connection", "panic", r, "stack", string(debug.Stack()))
			c.Close()
		}
		// Closing the connection unblocks the reader, which then closes the
		// queue; drain it so no frame (or its memory reservation) leaks.
		c.Close()
		for _, f := range release {
			s.releaseFrame(f)
		}
		s.releaseFrame(current)
		for p := range queue {
			s.releaseFrame(p.frame)
		}
	}()
	flush := func() bool {
		if len(buf) > 0 {
			writeDeadline.refresh(s.cfg.IdleTimeout, c.SetWriteDeadline)
			if _, err := c.Write(buf); err != nil {
				if !isClosedOrTimeout(err) {
					log.Debug("write failed", "err", err)
				}
				return false
			}
		}
		for _, f := range release {
			s.releaseFrame(f)
		}
		// Every response encoded so far is written: the reader may write
		// again once the ones still queued are too.
		unwritten.Add(-int32(len(release)))
		release = release[:0]
		if cap(buf) > 4<<20 {
			buf = nil // do not pin a huge buffer per idle connection
		} else {
			buf = buf[:0]
		}
		return true
	}
	for {
		var p pending
		var ok bool
		if len(buf) == 0 && len(release) == 0 {
			p, ok = <-queue
		} else {
			select {
			case p, ok = <-queue:
			default:
				if !flush() {
					return
				}
				continue
			}
		}
		if !ok {
			flush()
			return
		}
		// The request may alias its frame until its response is encoded;
		// current lets the deferred cleanup release it if we fail first.
		current = p.frame
		resp := p.reply.Response
		if p.reply.Await != nil || p.reply.Defer != nil {
			if len(buf) > 0 && !flush() {
				return
			}
			if p.reply.Await != nil {
				resp = p.reply.Await(ctx)
			} else {
				resp = awaitDeferred(ctx, p.reply.Defer, log)
				if resp == Abort {
					log.Warn("closing connection: deferred response aborted", "correlation_id", p.corr)
					c.Close()
					return
				}
			}
		}
		if resp != nil {
			if fa, ok := resp.(FrameAppender); ok {
				if len(buf) > 0 && !flush() {
					return
				}
				if err := s.writeFrame(c, fa, p.corr, &framing, &vec, &writeDeadline); err != nil {
					if !isClosedOrTimeout(err) {
						log.Warn("closing connection: write response", "err", err)
					}
					return
				}
			} else {
				buf = protocol.AppendResponse(buf, p.corr, resp)
				releaseResponse(resp)
			}
		}
		// The response is encoded: the request's frame is no longer read.
		release = append(release, current)
		current = nil
		if p.reply.Close {
			closeAfter = true
		}
		if closeAfter {
			flush()
			c.Close()
			return
		}
	}
}

// releaseFrame returns a request frame's buffer and its memory reservation.
func (s *Server) releaseFrame(frame *[]byte) {
	if frame == nil {
		return
	}
	s.mem.release(int64(len(*frame)))
	s.bufs.put(frame)
}

// deadlineSlack is how stale a connection deadline may get before it is
// pushed forward again: setting one per request costs a runtime timer update
// per request, so deadlines are set deadlineSlack beyond the idle timeout
// and refreshed at most once per deadlineSlack. A connection idle for the
// idle timeout is thus closed at most deadlineSlack late.
const deadlineSlack = time.Second

// deadline is one goroutine's record of the read or write deadline it last
// set. Write deadlines bound writes: a client that stops reading its
// responses is disconnected after the idle timeout instead of pinning the
// connection's goroutines and buffers forever.
type deadline struct{ setAt time.Time }

// refresh moves the deadline to idle (plus slack) from now unless it did so
// less than deadlineSlack ago. It reports whether it set a deadline.
func (d *deadline) refresh(idle time.Duration, set func(time.Time) error) bool {
	if idle <= 0 {
		return false
	}
	now := time.Now()
	if now.Sub(d.setAt) < deadlineSlack {
		return false
	}
	d.setAt = now
	_ = set(now.Add(idle + deadlineSlack))
	return true
}

// releaseResponse returns a response's pooled buffers once it is encoded.
func releaseResponse(resp any) {
	if r, ok := resp.(Releaser); ok {
		r.Release()
	}
}

func isClosedOrTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		(errors.As(err, &ne) && ne.Timeout()) || isConnReset(err)
}

// String describes the session for logs.
func (s *Session) String() string {
	return fmt.Sprintf("%s via %s as %s", s.RemoteAddr, s.Listener, s.Principal())
}
