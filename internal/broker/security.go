package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/security"
	"github.com/samsa-broker/samsa/internal/tokens"
)

// listenerSecurity is what a listener's security protocol needs: a TLS
// configuration (SSL, SASL_SSL) and a SASL authenticator (SASL_*).
type listenerSecurity struct {
	tls  *tls.Config
	auth *security.Authenticator
	// certPrincipal names clients by their certificate (SSL listeners
	// with ssl.client.auth), nil elsewhere.
	certPrincipal func(*x509.Certificate) (string, error)
}

// listenerSecurity builds l's TLS configuration and SASL authenticator from
// the ssl.* and sasl.* settings, each overridable per listener as
// listener.name.<listener>.<setting>.
func (b *Broker) listenerSecurity(l config.Listener) (listenerSecurity, error) {
	var sec listenerSecurity
	if l.SecurityProtocol.TLS() {
		v := func(name string) string { return b.cfg.ListenerValue(l.Name, name) }
		cfg, err := security.ServerTLSConfig(security.TLSSettings{
			KeystoreType:       v("ssl.keystore.type"),
			KeystoreLocation:   v("ssl.keystore.location"),
			KeystoreChain:      v("ssl.keystore.certificate.chain"),
			KeystoreKey:        v("ssl.keystore.key"),
			KeyPassword:        v("ssl.key.password"),
			TruststoreType:     v("ssl.truststore.type"),
			TruststoreLocation: v("ssl.truststore.location"),
			TruststoreCerts:    v("ssl.truststore.certificates"),
			ClientAuth:         v("ssl.client.auth"),
			EnabledProtocols:   b.cfg.ListenerList(l.Name, "ssl.enabled.protocols"),
			CipherSuites:       b.cfg.ListenerList(l.Name, "ssl.cipher.suites"),
		})
		if err != nil {
			return sec, err
		}
		sec.tls = cfg
		// As Kafka's default principal builder: on an SSL listener a
		// client's certificate names it; on SASL_SSL its SASL user does.
		if !l.SecurityProtocol.SASL() && cfg.ClientAuth != tls.NoClientCert {
			mapper, err := security.ParsePrincipalMappingRules(v("ssl.principal.mapping.rules"))
			if err != nil {
				return sec, err // the caller names the listener
			}
			sec.certPrincipal = mapper.CertificatePrincipal
		}
	}
	if l.SecurityProtocol.SASL() {
		var supported, skipped []string
		for _, m := range b.cfg.ListenerList(l.Name, "sasl.enabled.mechanisms") {
			m = strings.ToUpper(m)
			if m == security.MechanismPlain || security.IsScram(m) {
				supported = append(supported, m)
			} else {
				skipped = append(skipped, m)
			}
		}
		if len(skipped) > 0 {
			b.log.Warn("SASL mechanisms not supported; not offered", "listener", l.Name, "mechanisms", skipped)
		}
		if len(supported) == 0 {
			return sec, fmt.Errorf("sasl.enabled.mechanisms offers none of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (Kafka's default is GSSAPI, which Samsa does not support); set e.g. sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512")
		}
		var plainUsers map[string]string
		if slices.Contains(supported, security.MechanismPlain) {
			plainUsers = security.PlainUsers(b.cfg.SASLJAASConfig(l.Name, security.MechanismPlain))
			if len(plainUsers) == 0 {
				b.log.Warn("SASL PLAIN enabled without users: no PLAIN login can succeed; define them as user_NAME=\"password\" in listener.name."+strings.ToLower(l.Name)+".plain.sasl.jaas.config", "listener", l.Name)
			}
		}
		auth, err := security.NewAuthenticator(supported, plainUsers, scramCredentials{b.catalog.Metadata(), b.tokens})
		if err != nil {
			return sec, err
		}
		sec.auth = auth
	}
	return sec, nil
}

// scramCredentials are the SCRAM credentials of users (the metadata log) and
// of delegation tokens (the tokenauth=true extension).
type scramCredentials struct {
	*metadata.Store
	tokens *tokens.Manager
}

func (c scramCredentials) TokenScramCredential(id, mechanism string) (security.ScramCredential, string, time.Time, bool) {
	return c.tokens.TokenScramCredential(id, mechanism)
}
