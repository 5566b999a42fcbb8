package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// encodeRequest frames req the way a client does (without the size prefix).
func encodeRequest(req kmsg.Request, corr int32, clientID *string) []byte {
	b := kbin.AppendInt16(nil, req.Key())
	b = kbin.AppendInt16(b, req.GetVersion())
	b = kbin.AppendInt32(b, corr)
	b = kbin.AppendNullableString(b, clientID)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

func TestParseRequestRoundTrip(t *testing.T) {
	id := "client-1"
	for _, tc := range []struct {
		name string
		req  kmsg.Request
	}{
		{"metadata v1", func() kmsg.Request { r := kmsg.NewPtrMetadataRequest(); r.SetVersion(1); return r }()},
		{"metadata v12 flexible", func() kmsg.Request { r := kmsg.NewPtrMetadataRequest(); r.SetVersion(12); return r }()},
		{"api versions v3", func() kmsg.Request {
			r := kmsg.NewPtrApiVersionsRequest()
			r.SetVersion(3)
			r.ClientSoftwareName, r.ClientSoftwareVersion = "x", "1"
			return r
		}()},
		{"produce v9", func() kmsg.Request { r := kmsg.NewPtrProduceRequest(); r.SetVersion(9); r.Acks = -1; return r }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := encodeRequest(tc.req, 42, &id)
			h, req, err := ParseRequest(frame)
			if err != nil {
				t.Fatal(err)
			}
			if h.Key != tc.req.Key() || h.Version != tc.req.GetVersion() || h.CorrelationID != 42 || h.ClientID != id {
				t.Fatalf("header %+v", h)
			}
			if !bytes.Equal(req.AppendTo(nil), tc.req.AppendTo(nil)) {
				t.Fatal("body did not round-trip")
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(4)
	good := encodeRequest(meta, 1, nil)
	unknownKey := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(unknownKey, 12345)
	badVersion := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(badVersion[2:], 999)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"short", good[:5]},
		{"unknown key", unknownKey},
		{"unknown version", badVersion},
		{"truncated body", good[:len(good)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ParseRequest(tc.frame); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestReadFrameSize(t *testing.T) {
	for _, tc := range []struct {
		size    uint32
		wantErr error
	}{
		{100, nil}, {7, ErrMalformed}, {1 << 30, ErrFrameTooLarge}, {0xffffffff, ErrMalformed},
	} {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], tc.size)
		_, err := ReadFrameSize(bytes.NewReader(b[:]), 1<<20)
		if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
			t.Errorf("size %d: err %v, want %v", tc.size, err, tc.wantErr)
		}
	}
}

func TestAppendResponseHeaders(t *testing.T) {
	// ApiVersions keeps header v0 even when flexible; others add a tag byte.
	av := kmsg.NewPtrApiVersionsResponse()
	av.SetVersion(3)
	meta := kmsg.NewPtrMetadataResponse()
	meta.SetVersion(9)
	for _, tc := range []struct {
		resp    kmsg.Response
		tagByte bool
	}{{av, false}, {meta, true}} {
		b := AppendResponse(nil, 7, tc.resp)
		if int(binary.BigEndian.Uint32(b)) != len(b)-4 {
			t.Fatal("bad size prefix")
		}
		body := tc.resp.AppendTo(nil)
		want := 8 + len(body)
		if tc.tagByte {
			want++
		}
		if len(b) != want {
			t.Fatalf("%T: frame %d bytes, want %d", tc.resp, len(b), want)
		}
	}
}

// FuzzParseRequest feeds arbitrary frames to ParseRequest. Invariants:
// it never panics; on success the key and version are ones kmsg knows and
// the header's fixed fields match the frame's first 8 bytes.
func FuzzParseRequest(f *testing.F) {
	id := "fuzz"
	for _, req := range []kmsg.Request{
		kmsg.NewPtrMetadataRequest(), kmsg.NewPtrProduceRequest(), kmsg.NewPtrFetchRequest(),
		kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrJoinGroupRequest(), kmsg.NewPtrCreateTopicsRequest(),
	} {
		for v := int16(0); v <= req.MaxVersion(); v += 3 {
			req.SetVersion(v)
			f.Add(encodeRequest(req, 1, &id))
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, req, err := ParseRequest(frame)
		if err != nil {
			return
		}
		key, version, corr, _ := PeekHeader(frame)
		if h.Key != key || h.Version != version || h.CorrelationID != corr {
			t.Fatalf("header %+v does not match frame", h)
		}
		if req == nil || req.Key() != key || version > req.MaxVersion() {
			t.Fatalf("decoded request %T for key %d v%d", req, key, version)
		}
	})
}
