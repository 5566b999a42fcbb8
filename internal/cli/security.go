package cli

// Connection security for the client subcommands, configured the way Kafka's
// own tools are: a client properties file (--command-config, as
// kafka-topics.sh takes) and single properties (-X key=value, as kcat
// takes), with the names Kafka and librdkafka clients use.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/security"
)

// clientSecurityKeys are the client properties the CLI understands; any
// other key is refused so a typo does not silently connect in plaintext.
var clientSecurityKeys = map[string]string{
	"security.protocol":                     "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
	"sasl.mechanism":                        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
	"sasl.mechanisms":                       "librdkafka's name for sasl.mechanism",
	"sasl.username":                         "SASL user (librdkafka)",
	"sasl.password":                         "SASL password (librdkafka)",
	"sasl.jaas.config":                      `a login module line with username="..." password="..." (Kafka); tokenauth="true" for a delegation token`,
	"ssl.ca.location":                       "PEM file of the CA that signed the broker's certificate",
	"ssl.truststore.location":               "the same, when ssl.truststore.type is PEM",
	"ssl.truststore.type":                   "PEM (JKS and PKCS12 are not read)",
	"ssl.certificate.location":              "PEM client certificate, for brokers that require one",
	"ssl.key.location":                      "PEM key of the client certificate",
	"ssl.endpoint.identification.algorithm": `https (default) checks the broker's host name; "" or none skips that check`,
	"enable.ssl.certificate.verification":   "false skips verifying the broker's certificate (testing only)",
}

// securityProperties reads --command-config, then applies -X on top.
func (c *clientConfig) securityProperties() (map[string]string, error) {
	props := map[string]string{}
	if c.commandConfig != "" {
		f, err := os.Open(c.commandConfig)
		if err != nil {
			return nil, usageErrorf("--command-config: %v", err)
		}
		defer f.Close()
		read, err := config.ParseProperties(f)
		if err != nil {
			return nil, usageErrorf("--command-config %s: %v", c.commandConfig, err)
		}
		for k, v := range read {
			props[k] = v
		}
	}
	for _, kv := range c.properties {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageErrorf("-X %q: want key=value", kv)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for k := range props {
		if _, ok := clientSecurityKeys[k]; !ok {
			return nil, usageErrorf("client property %q is not supported here (supported: security.protocol, sasl.*, ssl.*; see docs/cli.md)", k)
		}
	}
	return props, nil
}

// securityOpts turns the security properties into kgo options.
func (c *clientConfig) securityOpts() ([]kgo.Opt, error) {
	props, err := c.securityProperties()
	if err != nil {
		return nil, err
	}
	protocol := strings.ToUpper(props["security.protocol"])
	if protocol == "" {
		protocol = "PLAINTEXT"
	}
	var useTLS, useSASL bool
	switch protocol {
	case "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return nil, usageErrorf("security.protocol %q: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", props["security.protocol"])
	}
	var opts []kgo.Opt
	if useTLS {
		cfg, err := clientTLS(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if useSASL {
		mech, err := clientSASL(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, mech)
	}
	return opts, nil
}

func clientTLS(props map[string]string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ca := props["ssl.ca.location"]
	if ca == "" {
		ca = props["ssl.truststore.location"]
		if t := props["ssl.truststore.type"]; ca != "" && t != "" && !strings.EqualFold(t, "PEM") {
			return nil, usageErrorf("ssl.truststore.type %s: only PEM trust stores are read (convert with keytool/openssl, or use ssl.ca.location)", t)
		}
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, usageErrorf("CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("CA file %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	certFile, keyFile := props["ssl.certificate.location"], props["ssl.key.location"]
	if (certFile == "") != (keyFile == "") {
		return nil, usageErrorf("ssl.certificate.location and ssl.key.location go together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, usageErrorf("client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if v, ok := props["enable.ssl.certificate.verification"]; ok && strings.EqualFold(v, "false") {
		cfg.InsecureSkipVerify = true
	}
	if v, ok := props["ssl.endpoint.identification.algorithm"]; ok && (v == "" || strings.EqualFold(v, "none")) && !cfg.InsecureSkipVerify {
		// Verify the chain but not the host name, as Kafka clients do
		// with an empty identification algorithm.
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

func clientSASL(props map[string]string) (kgo.Opt, error) {
	mech := props["sasl.mechanism"]
	if mech == "" {
		mech = props["sasl.mechanisms"]
	}
	if mech == "" {
		mech = "PLAIN" // Kafka's default
	}
	user, pass := props["sasl.username"], props["sasl.password"]
	token := false
	if jaas := props["sasl.jaas.config"]; jaas != "" {
		opts := security.JAASOptions(jaas)
		if user == "" {
			user = opts["username"]
		}
		if pass == "" {
			pass = opts["password"]
		}
		// Kafka's ScramLoginModule option for a delegation token: the
		// user name is its id, the password its HMAC.
		token = strings.EqualFold(opts["tokenauth"], "true")
	}
	if user == "" {
		return nil, usageErrorf("SASL needs a user: sasl.username or sasl.jaas.config with username=")
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		return kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()), nil
	case "SCRAM-SHA-256":
		return kgo.SASL(scram.Auth{User: user, Pass: pass, IsToken: token}.AsSha256Mechanism()), nil
	case "SCRAM-SHA-512":
		return kgo.SASL(scram.Auth{User: user, Pass: pass, IsToken: token}.AsSha512Mechanism()), nil
	}
	return nil, usageErrorf("sasl.mechanism %q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech)
}
