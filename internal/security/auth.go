package security

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Errors the SASL handlers map to Kafka error codes.
var (
	ErrUnsupportedMechanism   = errors.New("unsupported SASL mechanism")
	ErrAuthenticationFailed   = errors.New("authentication failed: invalid credentials")
	ErrUnacceptableCredential = errors.New("unacceptable credential")
)

// CredentialStore looks up SCRAM credentials.
type CredentialStore interface {
	ScramCredential(user, mechanism string) (ScramCredential, bool)
}

// TokenStore is a CredentialStore that also authenticates delegation tokens
// (SCRAM with the tokenauth=true extension): it returns the credential of
// the unexpired token id, the principal name of its owner and the token's
// expiry.
type TokenStore interface {
	TokenScramCredential(id, mechanism string) (cred ScramCredential, owner string, expiry time.Time, ok bool)
}

// Exchange is the server side of one SASL authentication in progress.
type Exchange interface {
	// Step consumes the client's next token and returns the server's
	// reply; done reports that the client is now authenticated. An error
	// ends the exchange (wrapping ErrAuthenticationFailed when the
	// credentials were wrong).
	Step(token []byte) (reply []byte, done bool, err error)
	// Principal is the authenticated user name once done.
	Principal() string
}

// Authenticator holds one SASL listener's mechanisms and credentials.
type Authenticator struct {
	mechanisms []string
	plainUsers map[string]string
	scram      CredentialStore
}

// NewAuthenticator returns an authenticator offering mechanisms (each
// PLAIN or a SCRAM mechanism), checking PLAIN logins against plainUsers and
// SCRAM logins against store.
func NewAuthenticator(mechanisms []string, plainUsers map[string]string, store CredentialStore) (*Authenticator, error) {
	if len(mechanisms) == 0 {
		return nil, fmt.Errorf("%w: none enabled", ErrUnsupportedMechanism)
	}
	for _, m := range mechanisms {
		if m != MechanismPlain && !IsScram(m) {
			return nil, fmt.Errorf("%w: %s (Samsa supports PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512)", ErrUnsupportedMechanism, m)
		}
	}
	return &Authenticator{mechanisms: slices.Clone(mechanisms), plainUsers: plainUsers, scram: store}, nil
}

// Mechanisms returns the enabled mechanisms, as SaslHandshake lists them.
func (a *Authenticator) Mechanisms() []string { return slices.Clone(a.mechanisms) }

// Start begins an authentication with mechanism.
func (a *Authenticator) Start(mechanism string) (Exchange, error) {
	if !slices.Contains(a.mechanisms, mechanism) {
		return nil, fmt.Errorf("%w: %q is not enabled on this listener (enabled: %s)", ErrUnsupportedMechanism, mechanism, strings.Join(a.mechanisms, ", "))
	}
	if mechanism == MechanismPlain {
		return &plainExchange{users: a.plainUsers}, nil
	}
	return newScramExchange(mechanism, a.scram)
}

// plainExchange checks one PLAIN token (RFC 4616): authzid NUL user NUL
// password.
type plainExchange struct {
	users     map[string]string
	principal string
	done      bool
}

func (e *plainExchange) Step(token []byte) ([]byte, bool, error) {
	if e.done {
		return nil, false, fmt.Errorf("%w: PLAIN exchange already finished", ErrAuthenticationFailed)
	}
	e.done = true
	parts := bytes.Split(token, []byte{0})
	if len(parts) != 3 {
		return nil, false, fmt.Errorf("%w with SASL mechanism PLAIN: malformed token", ErrAuthenticationFailed)
	}
	authzID, user, password := string(parts[0]), string(parts[1]), parts[2]
	if user == "" || (authzID != "" && authzID != user) {
		return nil, false, fmt.Errorf("%w with SASL mechanism PLAIN: bad user name or authorization id", ErrAuthenticationFailed)
	}
	want, ok := e.users[user]
	// Compare even for unknown users, so timing does not tell them apart.
	if subtle.ConstantTimeCompare([]byte(want), password) != 1 || !ok {
		return nil, false, fmt.Errorf("%w with SASL mechanism PLAIN", ErrAuthenticationFailed)
	}
	e.principal = user
	return nil, true, nil
}

func (e *plainExchange) Principal() string { return e.principal }

// jaasOption matches key="value" (or key=value) options of a JAAS login
// module line.
var jaasOption = regexp.MustCompile(`([A-Za-z0-9_.\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))`)

// PlainUsers returns the users a PlainLoginModule JAAS configuration
// defines with user_NAME="password" options, as Kafka's PLAIN server does.
func PlainUsers(jaas string) map[string]string {
	users := map[string]string{}
	for key, value := range JAASOptions(jaas) {
		if name, ok := strings.CutPrefix(key, "user_"); ok && name != "" {
			users[name] = value
		}
	}
	return users
}

// JAASOptions returns the key="value" options of a JAAS login module line
// (a client's username and password, a server's user_NAME entries).
func JAASOptions(jaas string) map[string]string {
	options := map[string]string{}
	for _, m := range jaasOption.FindAllStringSubmatch(jaas, -1) {
		value := m[3]
		if m[3] == "" {
			value = unescapeJAAS(m[2])
		}
		options[m[1]] = value
	}
	return options
}

func unescapeJAAS(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
