// Package protocol reads Kafka request frames and writes response frames.
//
// A frame is a big-endian int32 size followed by that many bytes. A request
// frame starts with a request header:
//
//	v0: api_key int16 | api_version int16 | correlation_id int32
//	v1: v0 + client_id nullable string (int16 length, -1 = null)
//	v2: v1 + tagged fields (flexible versions)
//
// The header version follows from the body's flexibility: flexible request
// versions use header v2, others v1. A response frame starts with the
// correlation id, followed by an empty tagged-field section when the response
// is flexible — except ApiVersions, whose response header is always v0 so
// that a client that does not yet know the broker's versions can read it.
//
// Bodies are decoded and encoded by franz-go's kmsg; this package only frames.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrFrameTooLarge means a frame's size prefix exceeds the configured maximum
// (socket.request.max.bytes).
var ErrFrameTooLarge = errors.New("frame exceeds socket.request.max.bytes")

// ErrMalformed means a frame could not be decoded as a Kafka request.
var ErrMalformed = errors.New("malformed request")

// Header is a decoded request header.
type Header struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
}

// ReadFrameSize reads a frame's 4-byte size prefix and checks it against max.
func ReadFrameSize(r io.Reader, max int32) (int32, error) {
	return readSize(r, 8, max)
}

// ReadTokenSize reads the size prefix of a bare SASL token (Kafka 0.10's
// framing after SaslHandshake v0), which may be shorter than a request
// header.
func ReadTokenSize(r io.Reader, max int32) (int32, error) {
	return readSize(r, 1, max)
}

func readSize(r io.Reader, minSize, max int32) (int32, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return 0, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < minSize {
		return 0, fmt.Errorf("%w: frame size %d is below the minimum of %d", ErrMalformed, size, minSize)
	}
	if size > max {
		return 0, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, size, max)
	}
	return size, nil
}

// PeekHeader decodes the fixed part of a request header (key, version,
// correlation id) from a frame body. It never fails on a body of 8 or more
// bytes, so the correlation id is known even for requests we cannot parse.
func PeekHeader(frame []byte) (key, version int16, corr int32, ok bool) {
	if len(frame) < 8 {
		return 0, 0, 0, false
	}
	return int16(binary.BigEndian.Uint16(frame[0:])), int16(binary.BigEndian.Uint16(frame[2:])),
		int32(binary.BigEndian.Uint32(frame[4:])), true
}

// ParseRequest decodes a request frame body whose key and version are known to
// kmsg. It returns the header and the decoded request. The request may alias
// frame's bytes, so frame must stay untouched until the request is done with.
func ParseRequest(frame []byte) (Header, kmsg.Request, error) {
	key, version, corr, ok := PeekHeader(frame)
	if !ok {
		return Header{}, nil, fmt.Errorf("%w: short header", ErrMalformed)
	}
	h := Header{Key: key, Version: version, CorrelationID: corr}
	req := kmsg.RequestForKey(key)
	if req == nil {
		return h, nil, fmt.Errorf("%w: unknown api key %d", ErrMalformed, key)
	}
	if version < 0 || version > req.MaxVersion() {
		return h, nil, fmt.Errorf("%w: api key %d version %d unknown", ErrMalformed, key, version)
	}
	req.SetVersion(version)
	r := kbin.Reader{Src: frame[8:]}
	clientID := r.NullableString()
	if clientID != nil {
		h.ClientID = *clientID
	}
	if req.IsFlexible() {
		skipTags(&r)
	}
	if err := r.Complete(); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := req.ReadFrom(r.Src); err != nil {
		return h, nil, fmt.Errorf("%w: %s v%d body: %v", ErrMalformed, kmsg.NameForKey(key), version, err)
	}
	return h, req, nil
}

// skipTags skips a tagged-field section.
func skipTags(r *kbin.Reader) {
	for n := r.Uvarint(); n > 0 && r.Ok(); n-- {
		r.Uvarint() // tag
		r.Span(int(r.Uvarint()))
	}
}

// AppendResponse appends a complete response frame (size, header, body) for
// resp to dst. key is the request's API key: ApiVersions responses always use
// header v0.
func AppendResponse(dst []byte, corr int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = kbin.AppendInt32(dst, corr)
	if resp.IsFlexible() && resp.Key() != 18 {
		dst = append(dst, 0) // empty tagged fields
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
