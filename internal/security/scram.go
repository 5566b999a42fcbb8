package security

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/xdg-go/scram"
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

func scramHash(mechanism string) (scram.HashGeneratorFcn, bool) {
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
	if len(salt) == 0 || len(saltedPassword) == 0 {
		return ScramCredential{}, fmt.Errorf("%w: empty salt or salted password", ErrUnacceptableCredential)
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

func hmacSum(h scram.HashGeneratorFcn, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramExchange is the server side of one SCRAM conversation: client-first
// → server-first, client-final → server-final.
type scramExchange struct {
	mechanism string
	conv      *scram.ServerConversation
	steps     int
}

func newScramExchange(mechanism string, store CredentialStore) (*scramExchange, error) {
	h, _ := scramHash(mechanism)
	lookup := func(user string) (scram.StoredCredentials, error) {
		if store == nil {
			return scram.StoredCredentials{}, ErrAuthenticationFailed
		}
		c, ok := store.ScramCredential(user, mechanism)
		if !ok {
			return scram.StoredCredentials{}, ErrAuthenticationFailed
		}
		return scram.StoredCredentials{
			KeyFactors: scram.KeyFactors{Salt: string(c.Salt), Iters: c.Iterations},
			StoredKey:  c.StoredKey, ServerKey: c.ServerKey,
		}, nil
	}
	srv, err := h.NewServer(lookup)
	if err != nil {
		return nil, fmt.Errorf("scram server: %w", err)
	}
	return &scramExchange{mechanism: mechanism, conv: srv.NewConversation()}, nil
}

func (e *scramExchange) Step(token []byte) ([]byte, bool, error) {
	e.steps++
	if e.steps > 2 {
		return nil, false, fmt.Errorf("%w: SCRAM exchange already finished", ErrAuthenticationFailed)
	}
	reply, err := e.conv.Step(string(token))
	if err != nil {
		// Whatever went wrong (unknown user, bad proof, bad message), the
		// client learns only that authentication failed, as from Kafka.
		return nil, false, fmt.Errorf("%w with SASL mechanism %s: %v", ErrAuthenticationFailed, e.mechanism, err)
	}
	if e.conv.Done() {
		if !e.conv.Valid() {
			return nil, false, fmt.Errorf("%w with SASL mechanism %s", ErrAuthenticationFailed, e.mechanism)
		}
		return []byte(reply), true, nil
	}
	return []byte(reply), false, nil
}

func (e *scramExchange) Principal() string { return e.conv.Username() }
