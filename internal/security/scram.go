package security

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SASL mechanism names, as clients send them.
const (
	MechanismPlain         = "PLAIN"
	MechanismScramSHA256   = "SCRAM-SHA-256"
	MechanismScramSHA512   = "SCRAM-SHA-512"
	scramSaltBytes         = 32
	DefaultScramIterations = 4096
)

// Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations and
// AlterUserScramCredentials' upper limit).
const (
	MinScramIterations = 4096
	MaxScramIterations = 16384
)

// ScramCredential is what the server keeps for one user and mechanism
// (RFC 5802): never the password, only what verifies a client's proof and
// proves the server back.
type ScramCredential struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

// ScramMechanisms lists the SCRAM mechanisms, in Kafka's numbering order
// (1 = SHA-256, 2 = SHA-512).
var ScramMechanisms = []string{MechanismScramSHA256, MechanismScramSHA512}

func scramHash(mechanism string) (func() hash.Hash, bool) {
	switch mechanism {
	case MechanismScramSHA256:
		return func() hash.Hash { return sha256.New() }, true
	case MechanismScramSHA512:
		return func() hash.Hash { return sha512.New() }, true
	}
	return nil, false
}

// IsScram reports whether mechanism is a SCRAM mechanism Samsa supports.
func IsScram(mechanism string) bool {
	_, ok := scramHash(mechanism)
	return ok
}

// NewScramCredential derives the stored credential of password with a fresh
// random salt.
func NewScramCredential(mechanism, password string, iterations int) (ScramCredential, error) {
	h, ok := scramHash(mechanism)
	if !ok {
		return ScramCredential{}, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, mechanism)
	}
	salt := make([]byte, scramSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return ScramCredential{}, fmt.Errorf("salt: %w", err)
	}
	salted, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return ScramCredential{}, fmt.Errorf("salt password: %w", err)
	}
	return ScramCredentialFromSaltedPassword(mechanism, salt, salted, iterations)
}

// ScramCredentialFromSaltedPassword derives the stored credential from the
// salted password a client computed (AlterUserScramCredentials sends it
// rather than the password).
func ScramCredentialFromSaltedPassword(mechanism string, salt, saltedPassword []byte, iterations int) (ScramCredential, error) {
	h, ok := scramHash(mechanism)
	if !ok {
		return ScramCredential{}, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, mechanism)
	}
	if err := checkIterations(iterations); err != nil {
		return ScramCredential{}, err
	}
	// An empty salt is weak but Kafka stores it, and sarama sends one when
	// its caller sets none; the salted password must be there.
	if len(saltedPassword) == 0 {
		return ScramCredential{}, fmt.Errorf("%w: empty salted password", ErrUnacceptableCredential)
	}
	clientKey := hmacSum(h, saltedPassword, "Client Key")
	stored := h()
	stored.Write(clientKey)
	return ScramCredential{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  stored.Sum(nil),
		ServerKey:  hmacSum(h, saltedPassword, "Server Key"),
	}, nil
}

func checkIterations(n int) error {
	if n < MinScramIterations || n > MaxScramIterations {
		return fmt.Errorf("%w: %d iterations; allowed are %d to %d", ErrUnacceptableCredential, n, MinScramIterations, MaxScramIterations)
	}
	return nil
}

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramExchange is the server side of one SCRAM conversation (RFC 5802):
// client-first → server-first, client-final → server-final. Written here
// rather than taken from a library because Kafka's server accepts a final
// nonce that merely ends with the combined nonce (ScramSaslServer's
// endsWith), and librdkafka 2.0 depends on that: it sends its own nonce
// twice. The proof is computed over the message as sent, so accepting the
// prefix does not weaken the check.
type scramExchange struct {
	mechanism string
	hash      func() hash.Hash
	store     CredentialStore
	step      int

	user            string
	token           bool      // the user authenticated with a delegation token
	tokenExpiry     time.Time // when that token expires
	cred            ScramCredential
	gs2Header       string
	clientFirstBare string
	serverFirst     string
	nonce           string // client nonce + server nonce
}

func newScramExchange(mechanism string, store CredentialStore) (*scramExchange, error) {
	h, ok := scramHash(mechanism)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, mechanism)
	}
	return &scramExchange{mechanism: mechanism, hash: h, store: store}, nil
}

func (e *scramExchange) fail(format string, args ...any) ([]byte, bool, error) {
	e.step = 3
	return nil, false, fmt.Errorf("%w with SASL mechanism %s: %s", ErrAuthenticationFailed, e.mechanism, fmt.Sprintf(format, args...))
}

func (e *scramExchange) Step(token []byte) ([]byte, bool, error) {
	e.step++
	switch e.step {
	case 1:
		return e.clientFirst(string(token))
	case 2:
		return e.clientFinal(string(token))
	}
	return e.fail("SCRAM exchange already finished")
}

// clientFirst handles gs2-header client-first-message-bare, where the
// header is "n,," or "y,," with an optional a=authzid, and the bare part
// "n=user,r=nonce[,extensions]".
func (e *scramExchange) clientFirst(msg string) ([]byte, bool, error) {
	cb, rest, ok := strings.Cut(msg, ",")
	if !ok || (cb != "n" && cb != "y") {
		return e.fail("unsupported channel binding flag %q", cb)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return e.fail("malformed client-first-message")
	}
	e.gs2Header = cb + "," + authz + ","
	e.clientFirstBare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return e.fail("malformed client-first-message")
	}
	user, ok := decodeScramName(attrs[0][2:])
	if !ok || user == "" {
		return e.fail("malformed user name")
	}
	if authz != "" {
		if a, ok := decodeScramName(strings.TrimPrefix(authz, "a=")); !ok || !strings.HasPrefix(authz, "a=") || a != user {
			return e.fail("authorization id must be empty or the user name")
		}
	}
	token := slices.Contains(attrs[2:], "tokenauth=true")
	clientNonce := attrs[1][2:]
	if clientNonce == "" {
		return e.fail("empty client nonce")
	}
	if e.store == nil {
		return e.fail("unknown user")
	}
	var cred ScramCredential
	if token {
		// The user name is a delegation token's id; the principal is the
		// token's owner.
		tokens, ok := e.store.(TokenStore)
		if !ok {
			return e.fail("delegation tokens are not enabled")
		}
		var owner string
		if cred, owner, e.tokenExpiry, ok = tokens.TokenScramCredential(user, e.mechanism); !ok {
			return e.fail("unknown or expired delegation token")
		}
		user, e.token = owner, true
	} else if cred, ok = e.store.ScramCredential(user, e.mechanism); !ok {
		return e.fail("unknown user")
	}
	random := make([]byte, 24)
	if _, err := rand.Read(random); err != nil {
		return e.fail("server nonce: %v", err)
	}
	e.user, e.cred = user, cred
	e.nonce = clientNonce + base64.RawURLEncoding.EncodeToString(random)
	e.serverFirst = "r=" + e.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(cred.Iterations)
	return []byte(e.serverFirst), false, nil
}

// clientFinal handles "c=<gs2 header>,r=<nonce>[,extensions],p=<proof>".
func (e *scramExchange) clientFinal(msg string) ([]byte, bool, error) {
	withoutProof, proofB64, ok := cutLast(msg, ",p=")
	if !ok {
		return e.fail("client-final-message has no proof")
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return e.fail("malformed client-final-message")
	}
	if cbind, err := base64.StdEncoding.DecodeString(attrs[0][2:]); err != nil || string(cbind) != e.gs2Header {
		return e.fail("channel binding does not match the client-first-message")
	}
	if !strings.HasSuffix(attrs[1][2:], e.nonce) {
		return e.fail("nonce does not match")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != len(e.cred.StoredKey) {
		return e.fail("malformed proof")
	}
	authMessage := e.clientFirstBare + "," + e.serverFirst + "," + withoutProof
	signature := hmacSum(e.hash, e.cred.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ signature[i]
	}
	stored := e.hash()
	stored.Write(clientKey)
	if !hmac.Equal(stored.Sum(nil), e.cred.StoredKey) {
		return e.fail("invalid credentials")
	}
	e.step = 3
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(e.hash, e.cred.ServerKey, authMessage))), true, nil
}

func (e *scramExchange) Principal() string { return e.user }

// TokenAuthenticated reports whether the client authenticated with a
// delegation token (such a session may not manage tokens itself).
func (e *scramExchange) TokenAuthenticated() bool { return e.token }

// CredentialExpiry is when the credential the client authenticated with
// ends (a delegation token's expiry), zero for none: with
// connections.max.reauth.ms set, the session ends then at the latest, as
// Kafka's SCRAM server reports it (KIP-368).
func (e *scramExchange) CredentialExpiry() time.Time { return e.tokenExpiry }

// decodeScramName undoes RFC 5802's escaping of user names (=2C is a
// comma, =3D an equals sign; any other '=' is malformed).
func decodeScramName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
