package config

import (
	"slices"
	"strings"
	"testing"
)

func TestParseListeners(t *testing.T) {
	for _, tc := range []struct {
		input   string
		want    []Listener
		wantErr string
	}{
		{input: "", want: nil},
		{input: "PLAINTEXT://:9092", want: []Listener{{Name: "PLAINTEXT", Port: 9092}}},
		{input: "PLAINTEXT://:9092,SASL_SSL://h:9093", want: []Listener{
			{Name: "PLAINTEXT", Port: 9092}, {Name: "SASL_SSL", Host: "h", Port: 9093}}},
		{input: " plaintext://0.0.0.0:9092 , external://broker-1.example.com:19092 ", want: []Listener{
			{Name: "PLAINTEXT", Host: "0.0.0.0", Port: 9092}, {Name: "EXTERNAL", Host: "broker-1.example.com", Port: 19092}}},
		{input: "PLAINTEXT://[::1]:9092,SSL://[fe80::1%eth0]:9093", want: []Listener{
			{Name: "PLAINTEXT", Host: "::1", Port: 9092}, {Name: "SSL", Host: "fe80::1%eth0", Port: 9093}}},
		{input: "PLAINTEXT://127.0.0.1:0", want: []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 0}}},
		{input: "localhost:9092", wantErr: "not of the form NAME://host:port"},
		{input: "://h:9092", wantErr: "needs a name"},
		{input: "PLAINTEXT://h", wantErr: "is not host:port"},
		{input: "PLAINTEXT://::1:9092", wantErr: "IPv6 hosts in brackets"},
		{input: "PLAINTEXT://h:99999", wantErr: "0 to 65535"},
		{input: "PLAINTEXT://h:-1", wantErr: "0 to 65535"},
		{input: "PLAINTEXT://h:port", wantErr: "0 to 65535"},
		{input: "PLAINTEXT://bad host:9092", wantErr: "may contain only"},
		{input: "PLAINTEXT://:9092,plaintext://:9093", wantErr: "appears twice"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			got, err := ParseListeners(tc.input)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseListeners: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListenerAddr(t *testing.T) {
	for _, tc := range []struct {
		l          Listener
		addr, text string
	}{
		{Listener{Name: "PLAINTEXT", Port: 9092}, ":9092", "PLAINTEXT://:9092"},
		{Listener{Name: "SSL", Host: "::1", Port: 9093}, "[::1]:9093", "SSL://[::1]:9093"},
	} {
		if tc.l.Addr() != tc.addr || tc.l.String() != tc.text {
			t.Errorf("%#v: Addr %q String %q, want %q %q", tc.l, tc.l.Addr(), tc.l.String(), tc.addr, tc.text)
		}
	}
}

func TestResolveSecurityProtocols(t *testing.T) {
	protocolMap, err := ParseSecurityProtocolMap("internal:SASL_PLAINTEXT, EXTERNAL:sasl_ssl")
	if err != nil {
		t.Fatal(err)
	}
	listeners, err := ParseListeners("INTERNAL://:9092,EXTERNAL://:9093,SSL://:9094,CONTROLLER://:9095")
	if err != nil {
		t.Fatal(err)
	}
	if err := ResolveSecurityProtocols(listeners, protocolMap, []string{"controller"}); err != nil {
		t.Fatal(err)
	}
	var got []SecurityProtocol
	for _, l := range listeners {
		got = append(got, l.SecurityProtocol)
	}
	if want := []SecurityProtocol{SASLPlaintext, SASLSSL, SSL, Plaintext}; !slices.Equal(got, want) {
		t.Errorf("protocols %v, want %v", got, want)
	}
	if !SASLSSL.TLS() || !SASLSSL.SASL() || Plaintext.TLS() || SSL.SASL() {
		t.Error("TLS/SASL classification wrong")
	}

	if err := ResolveSecurityProtocols([]Listener{{Name: "OTHER"}}, protocolMap, nil); err == nil ||
		!strings.Contains(err.Error(), "add OTHER:PLAINTEXT") {
		t.Errorf("error %v, want advice to map OTHER", err)
	}
}

func TestBrokerListeners(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{
		"listeners":                      "INTERNAL://127.0.0.1:9092,EXTERNAL://:9093,CONTROLLER://:9094",
		"advertised.listeners":           "EXTERNAL://kafka.example.com:443",
		"listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL",
		"controller.listener.names":      "CONTROLLER",
	})
	wantListen := []Listener{
		{Name: "INTERNAL", Host: "127.0.0.1", Port: 9092, SecurityProtocol: Plaintext},
		{Name: "EXTERNAL", Port: 9093, SecurityProtocol: SASLSSL},
	}
	if got := b.ListenAddrs(); !slices.Equal(got, wantListen) {
		t.Errorf("ListenAddrs() = %v, want %v", got, wantListen)
	}
	wantAdvertised := []Listener{
		{Name: "INTERNAL", Host: "127.0.0.1", Port: 9092, SecurityProtocol: Plaintext},
		{Name: "EXTERNAL", Host: "kafka.example.com", Port: 443, SecurityProtocol: SASLSSL},
	}
	if got := b.AdvertisedListeners(); !slices.Equal(got, wantAdvertised) {
		t.Errorf("AdvertisedListeners() = %v, want %v", got, wantAdvertised)
	}
	// Callers get copies.
	b.ListenAddrs()[0].Port = 1
	if b.ListenAddrs()[0].Port != 9092 {
		t.Error("ListenAddrs exposed the Broker's slice")
	}
}
