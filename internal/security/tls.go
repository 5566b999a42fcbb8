package security

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// TLSSettings are a listener's ssl.* settings, Kafka's names in comments.
// Key and trust stores must be PEM: Go has no JKS reader, and PKCS12 would
// need a dependency for what `openssl pkcs12 -nodes` converts once.
type TLSSettings struct {
	KeystoreType       string   // ssl.keystore.type
	KeystoreLocation   string   // ssl.keystore.location: key and certificate chain
	KeystoreChain      string   // ssl.keystore.certificate.chain (inline PEM)
	KeystoreKey        string   // ssl.keystore.key (inline PEM)
	KeyPassword        string   // ssl.key.password: encrypted keys are refused
	TruststoreType     string   // ssl.truststore.type
	TruststoreLocation string   // ssl.truststore.location
	TruststoreCerts    string   // ssl.truststore.certificates (inline PEM)
	ClientAuth         string   // ssl.client.auth: required, requested, none
	EnabledProtocols   []string // ssl.enabled.protocols
	CipherSuites       []string // ssl.cipher.suites (IANA names); empty: Go's defaults
}

// ServerTLSConfig builds the TLS configuration of an SSL or SASL_SSL
// listener.
func ServerTLSConfig(s TLSSettings) (*tls.Config, error) {
	cert, err := loadKeyPair(s)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if cfg.MinVersion, cfg.MaxVersion, err = tlsVersions(s.EnabledProtocols); err != nil {
		return nil, err
	}
	if len(s.CipherSuites) > 0 {
		if cfg.CipherSuites, err = cipherSuites(s.CipherSuites); err != nil {
			return nil, err
		}
	}
	switch strings.ToLower(strings.TrimSpace(s.ClientAuth)) {
	case "", "none":
		cfg.ClientAuth = tls.NoClientCert
	case "requested":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("ssl.client.auth: %q is not required, requested or none", s.ClientAuth)
	}
	if cfg.ClientAuth != tls.NoClientCert {
		pool, err := loadTrustStore(s)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

func loadKeyPair(s TLSSettings) (tls.Certificate, error) {
	var chain, key []byte
	switch {
	case s.KeystoreChain != "" || s.KeystoreKey != "":
		if s.KeystoreChain == "" || s.KeystoreKey == "" {
			return tls.Certificate{}, errors.New("ssl.keystore.certificate.chain and ssl.keystore.key must be set together")
		}
		chain, key = []byte(s.KeystoreChain), []byte(s.KeystoreKey)
	case s.KeystoreLocation != "":
		data, err := os.ReadFile(s.KeystoreLocation)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		if err := requirePEM("ssl.keystore", s.KeystoreType, s.KeystoreLocation, data); err != nil {
			return tls.Certificate{}, err
		}
		chain, key = data, data
	default:
		return tls.Certificate{}, errors.New("a TLS listener needs ssl.keystore.location (a PEM file with the private key and certificate chain) or ssl.keystore.certificate.chain and ssl.keystore.key")
	}
	if bytes.Contains(key, []byte("ENCRYPTED PRIVATE KEY")) || bytes.Contains(key, []byte("Proc-Type: 4,ENCRYPTED")) {
		return tls.Certificate{}, errors.New("the TLS private key is encrypted (ssl.key.password); Samsa reads unencrypted PEM keys only: decrypt it with `openssl pkey -in key.pem -out plain.pem` and protect the file instead")
	}
	cert, err := tls.X509KeyPair(chain, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS key store: %w", err)
	}
	return cert, nil
}

func loadTrustStore(s TLSSettings) (*x509.CertPool, error) {
	var data []byte
	switch {
	case s.TruststoreCerts != "":
		data = []byte(s.TruststoreCerts)
	case s.TruststoreLocation != "":
		var err error
		if data, err = os.ReadFile(s.TruststoreLocation); err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		if err := requirePEM("ssl.truststore", s.TruststoreType, s.TruststoreLocation, data); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("ssl.client.auth=%s needs ssl.truststore.location or ssl.truststore.certificates (PEM) with the CAs of client certificates", s.ClientAuth)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("TLS trust store: no PEM certificate found")
	}
	return pool, nil
}

// requirePEM accepts a store whose type is PEM, or whose type was left at
// Kafka's default (JKS) while the file is PEM anyway.
func requirePEM(setting, storeType, path string, data []byte) error {
	isPEM := bytes.Contains(data, []byte("-----BEGIN "))
	t := strings.ToUpper(strings.TrimSpace(storeType))
	if (t == "PEM" || t == "" || t == "JKS") && isPEM {
		return nil
	}
	return fmt.Errorf("%s.location %s: Samsa reads PEM stores only (%s.type=%s); convert it, e.g. `openssl pkcs12 -in store.p12 -nodes -out store.pem` (after `keytool -importkeystore -deststoretype PKCS12` for JKS), and set %s.type=PEM",
		setting, path, setting, storeType, setting)
}

func tlsVersions(protocols []string) (uint16, uint16, error) {
	if len(protocols) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	var versions []uint16
	for _, p := range protocols {
		switch strings.TrimSpace(p) {
		case "TLSv1.2":
			versions = append(versions, tls.VersionTLS12)
		case "TLSv1.3":
			versions = append(versions, tls.VersionTLS13)
		case "TLSv1", "TLSv1.1":
			return 0, 0, fmt.Errorf("ssl.enabled.protocols: %s is not supported (insecure); use TLSv1.2 and TLSv1.3", p)
		default:
			return 0, 0, fmt.Errorf("ssl.enabled.protocols: unknown protocol %q", p)
		}
	}
	return slices.Min(versions), slices.Max(versions), nil
}

func cipherSuites(names []string) ([]uint16, error) {
	known := map[string]uint16{}
	for _, c := range tls.CipherSuites() {
		known[c.Name] = c.ID
	}
	var ids []uint16
	for _, n := range names {
		id, ok := known[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("ssl.cipher.suites: %q is not a supported cipher suite", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
