package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// SecurityProtocol is how a listener talks to clients, named as in Kafka.
type SecurityProtocol string

// Kafka's security protocols.
const (
	Plaintext     SecurityProtocol = "PLAINTEXT"
	SSL           SecurityProtocol = "SSL"
	SASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	SASLSSL       SecurityProtocol = "SASL_SSL"
)

// TLS reports whether the protocol runs over TLS.
func (p SecurityProtocol) TLS() bool { return p == SSL || p == SASLSSL }

// SASL reports whether clients must authenticate with SASL.
func (p SecurityProtocol) SASL() bool { return p == SASLPlaintext || p == SASLSSL }

func parseSecurityProtocol(s string) (SecurityProtocol, bool) {
	switch p := SecurityProtocol(strings.ToUpper(strings.TrimSpace(s))); p {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
		return p, true
	}
	return "", false
}

// Listener is one entry of the listeners (or advertised.listeners) config.
type Listener struct {
	// Name is the listener name in upper case, as Kafka normalises it
	// ("PLAINTEXT", "INTERNAL", "SASL_SSL").
	Name string
	// Host is the address to bind (or advertise); empty means every
	// interface when binding.
	Host string
	// Port 0 binds a free port (useful in tests).
	Port int
	// SecurityProtocol comes from listener.security.protocol.map, or from
	// the name itself when the name is a protocol.
	SecurityProtocol SecurityProtocol
}

// Addr is the host:port to pass to net.Listen.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// String formats the listener as in the listeners config.
func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// ParseListeners parses a listeners value such as
// "PLAINTEXT://:9092,SASL_SSL://h:9093" (IPv6 hosts in brackets). Names
// must be unique; SecurityProtocol is left empty (see
// ResolveSecurityProtocols).
func ParseListeners(value string) ([]Listener, error) {
	var listeners []Listener
	seen := make(map[string]bool)
	for _, entry := range splitList(value) {
		l, err := parseListener(entry)
		if err != nil {
			return nil, err
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("listener name %s appears twice; each listener needs its own name", l.Name)
		}
		seen[l.Name] = true
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func parseListener(entry string) (Listener, error) {
	name, address, ok := strings.Cut(entry, "://")
	if !ok {
		return Listener{}, fmt.Errorf("listener %q is not of the form NAME://host:port", entry)
	}
	name = strings.ToUpper(strings.TrimSpace(name))
	if name == "" || strings.ContainsAny(name, " \t:/,") {
		return Listener{}, fmt.Errorf("listener %q needs a name made of letters, digits and underscores before ://", entry)
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return Listener{}, fmt.Errorf("listener %q: address %q is not host:port (write IPv6 hosts in brackets, [::1]:9092)", entry, address)
	}
	if strings.IndexFunc(host, notHostChar) >= 0 {
		return Listener{}, fmt.Errorf("listener %q: host %q may contain only letters, digits and - %% . _ :", entry, host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("listener %q: port %q is not a number from 0 to 65535", entry, portText)
	}
	return Listener{Name: name, Host: host, Port: port}, nil
}

// ParseSecurityProtocolMap parses listener.security.protocol.map, e.g.
// "CONTROLLER:PLAINTEXT,EXTERNAL:SASL_SSL", into upper-case listener names.
func ParseSecurityProtocolMap(value string) (map[string]SecurityProtocol, error) {
	m := make(map[string]SecurityProtocol)
	for _, entry := range splitList(value) {
		name, protocolText, ok := strings.Cut(entry, ":")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %q is not of the form LISTENER_NAME:PROTOCOL", entry)
		}
		protocol, ok := parseSecurityProtocol(protocolText)
		if !ok {
			return nil, fmt.Errorf("entry %q: %q is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)", entry, strings.TrimSpace(protocolText))
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("listener name %s is mapped twice", name)
		}
		m[name] = protocol
	}
	return m, nil
}

// ResolveSecurityProtocols fills in each listener's SecurityProtocol: from
// protocolMap, or the name itself when it is a protocol name (PLAINTEXT,
// SSL, ...). Names in plaintextByDefault (KRaft controller listeners) fall
// back to PLAINTEXT, as Kafka does.
func ResolveSecurityProtocols(listeners []Listener, protocolMap map[string]SecurityProtocol, plaintextByDefault []string) error {
	for i := range listeners {
		l := &listeners[i]
		if p, ok := protocolMap[l.Name]; ok {
			l.SecurityProtocol = p
			continue
		}
		if p, ok := parseSecurityProtocol(l.Name); ok {
			l.SecurityProtocol = p
			continue
		}
		if containsFold(plaintextByDefault, l.Name) {
			l.SecurityProtocol = Plaintext
			continue
		}
		return fmt.Errorf("listener %s has no security protocol; add %s:PLAINTEXT (or SSL, SASL_PLAINTEXT, SASL_SSL) to %s",
			l.Name, l.Name, ListenerSecurityProtocolMap)
	}
	return nil
}

// checkPortClashes reports two listeners bound to the same port where
// their hosts overlap (the same host, or one binding every interface).
func checkPortClashes(listeners []Listener) error {
	for i, a := range listeners {
		for _, b := range listeners[i+1:] {
			if a.Port == 0 || a.Port != b.Port {
				continue
			}
			if a.Host == b.Host || isWildcardHost(a.Host) || isWildcardHost(b.Host) {
				return fmt.Errorf("listeners %s and %s both use port %d", a.Name, b.Name, a.Port)
			}
		}
	}
	return nil
}

// notHostChar is true for runes Kafka's listener syntax does not allow in a
// host (letters, digits and "-%._:" are allowed; ":" for IPv6).
func notHostChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("-%._:", r)
}

func isWildcardHost(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// Syntax-only rules for the definition table; NewBroker checks how the
// listener configs fit together.
var (
	listenerSyntax = custom{
		describe: "NAME://host:port,...",
		fn: func(value string) error {
			_, err := ParseListeners(value)
			return err
		},
	}
	protocolMapSyntax = custom{
		describe: "LISTENER_NAME:PROTOCOL,...",
		fn: func(value string) error {
			_, err := ParseSecurityProtocolMap(value)
			return err
		},
	}
	dataDirSyntax = custom{
		describe: "one directory path",
		fn: func(value string) error {
			dirs := splitList(value)
			switch {
			case len(dirs) == 0:
				return errors.New("must name a directory")
			case len(dirs) > 1:
				return fmt.Errorf("names %d directories; Samsa stores all data in one directory", len(dirs))
			case dirs[0] == "":
				return errors.New("must name a directory")
			}
			return nil
		},
	}
)
