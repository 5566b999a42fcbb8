package security

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

type memStore map[[2]string]ScramCredential

func (m memStore) ScramCredential(user, mech string) (ScramCredential, bool) {
	c, ok := m[[2]string{user, mech}]
	return c, ok
}

func TestPlainUsersFromJAAS(t *testing.T) {
	for _, tc := range []struct {
		jaas string
		want map[string]string
	}{
		{`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice secret";`,
			map[string]string{"admin": "admin-secret", "alice": "alice secret"}},
		{`PlainLoginModule required user_bob=unquoted user_eve="with \"quote\"";`,
			map[string]string{"bob": "unquoted", "eve": `with "quote"`}},
		{`org.apache.kafka.common.security.scram.ScramLoginModule required;`, map[string]string{}},
		{``, map[string]string{}},
	} {
		got := PlainUsers(tc.jaas)
		if len(got) != len(tc.want) {
			t.Errorf("PlainUsers(%q) = %v, want %v", tc.jaas, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("PlainUsers(%q)[%s] = %q, want %q", tc.jaas, k, got[k], v)
			}
		}
	}
}

func TestPlainExchange(t *testing.T) {
	a, err := NewAuthenticator([]string{MechanismPlain}, map[string]string{"alice": "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"\x00alice\x00pw", true},
		{"alice\x00alice\x00pw", true},
		{"bob\x00alice\x00pw", false}, // another authorization id
		{"\x00alice\x00PW", false},
		{"\x00alice\x00", false},
		{"\x00nobody\x00", false}, // unknown user with an empty password
		{"\x00\x00pw", false},
		{"alice\x00pw", false},
		{"", false},
	} {
		ex, err := a.Start(MechanismPlain)
		if err != nil {
			t.Fatal(err)
		}
		_, done, err := ex.Step([]byte(tc.token))
		if done != tc.ok || (err == nil) != tc.ok {
			t.Errorf("token %q: done %v err %v, want ok %v", tc.token, done, err, tc.ok)
		}
		if !tc.ok && !errors.Is(err, ErrAuthenticationFailed) {
			t.Errorf("token %q: err %v does not wrap ErrAuthenticationFailed", tc.token, err)
		}
		if tc.ok && ex.Principal() != "alice" {
			t.Errorf("token %q: principal %q", tc.token, ex.Principal())
		}
	}
}

func TestAuthenticatorMechanisms(t *testing.T) {
	if _, err := NewAuthenticator([]string{"GSSAPI"}, nil, nil); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("GSSAPI: err = %v", err)
	}
	if _, err := NewAuthenticator(nil, nil, nil); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("no mechanisms: err = %v", err)
	}
	a, err := NewAuthenticator([]string{MechanismScramSHA256}, nil, memStore{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start(MechanismPlain); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("PLAIN not enabled: err = %v", err)
	}
}

// saltedPassword is what a Kafka client computes (no SASLprep, as Kafka).
func saltedPassword(password string, salt []byte, iters int) []byte {
	key, err := pbkdf2.Key(sha256.New, password, salt, iters, sha256.Size)
	if err != nil {
		panic(err)
	}
	return key
}

func TestScramExchangeWithARealClient(t *testing.T) {
	salt := []byte("0123456789abcdef")
	cred, err := ScramCredentialFromSaltedPassword(MechanismScramSHA256, salt, saltedPassword("secret", salt, 4096), 4096)
	if err != nil {
		t.Fatal(err)
	}
	store := memStore{{"alice", MechanismScramSHA256}: cred}
	a, err := NewAuthenticator([]string{MechanismScramSHA256, MechanismScramSHA512}, nil, store)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, password, mech string
		ok                   bool
	}{
		{"alice", "secret", MechanismScramSHA256, true},
		{"alice", "wrong", MechanismScramSHA256, false},
		{"bob", "secret", MechanismScramSHA256, false},
		{"alice", "secret", MechanismScramSHA512, false}, // no SHA-512 credential
	} {
		h := scram.SHA256
		if tc.mech == MechanismScramSHA512 {
			h = scram.SHA512
		}
		client, err := h.NewClientUnprepped(tc.user, tc.password, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		ex, err := a.Start(tc.mech)
		if err != nil {
			t.Fatal(err)
		}
		done, ok := false, true
		msg, _ := conv.Step("")
		for !done && ok {
			reply, d, err := ex.Step([]byte(msg))
			if err != nil {
				if !errors.Is(err, ErrAuthenticationFailed) {
					t.Errorf("%+v: err %v does not wrap ErrAuthenticationFailed", tc, err)
				}
				ok = false
				break
			}
			done = d
			if msg, err = conv.Step(string(reply)); err != nil {
				t.Errorf("%+v: client rejected the server's reply %q: %v", tc, reply, err)
				ok = false
			}
		}
		if ok != tc.ok {
			t.Errorf("%+v: authenticated = %v", tc, ok)
		}
		if ok && (!conv.Valid() || ex.Principal() != tc.user) {
			t.Errorf("%+v: client valid %v, principal %q", tc, conv.Valid(), ex.Principal())
		}
	}
}

func TestScramCredentialMatchesTheLibrary(t *testing.T) {
	salt := []byte("salty")
	cred, err := ScramCredentialFromSaltedPassword(MechanismScramSHA256, salt, saltedPassword("pw", salt, 4096), 4096)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := scram.SHA256.NewClientUnprepped("u", "pw", "")
	want, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if !hmac.Equal(cred.StoredKey, want.StoredKey) || !hmac.Equal(cred.ServerKey, want.ServerKey) {
		t.Fatal("stored or server key differs from the reference derivation")
	}
	for _, iters := range []int{0, 4095, 16385} {
		if _, err := ScramCredentialFromSaltedPassword(MechanismScramSHA256, salt, []byte("x"), iters); !errors.Is(err, ErrUnacceptableCredential) {
			t.Errorf("%d iterations: err = %v", iters, err)
		}
	}
	if _, err := ScramCredentialFromSaltedPassword("SCRAM-SHA-1", salt, []byte("x"), 4096); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("SHA-1: err = %v", err)
	}
}

func TestServerTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	jks := filepath.Join(dir, "store.jks")
	if err := os.WriteFile(jks, []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	encrypted := filepath.Join(dir, "enc.pem")
	if err := os.WriteFile(encrypted, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    TLSSettings
		want string
	}{
		{"no key store", TLSSettings{}, "ssl.keystore.location"},
		{"JKS", TLSSettings{KeystoreType: "JKS", KeystoreLocation: jks}, "PEM stores only"},
		{"missing file", TLSSettings{KeystoreLocation: filepath.Join(dir, "none.pem")}, "no such file"},
		{"encrypted key", TLSSettings{KeystoreType: "PEM", KeystoreLocation: encrypted}, "encrypted"},
		{"half inline", TLSSettings{KeystoreChain: "x"}, "set together"},
	} {
		_, err := ServerTLSConfig(tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

// clientFinalFor computes a client-final-message for nonce the way a
// client does, over the message as it will be sent.
func clientFinalFor(clientFirstBare, serverFirst, nonce string, salted []byte) (msg string, serverSig string) {
	withoutProof := "c=biws,r=" + nonce
	authMessage := clientFirstBare + "," + serverFirst + "," + withoutProof
	h := sha256.New
	clientKey := hmacSum(h, salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	sig := hmacSum(h, storedKey[:], authMessage)
	proof := make([]byte, len(sig))
	for i := range sig {
		proof[i] = clientKey[i] ^ sig[i]
	}
	serverKey := hmacSum(h, salted, "Server Key")
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof),
		"v=" + base64.StdEncoding.EncodeToString(hmacSum(h, serverKey, authMessage))
}

// TestScramNonceAsKafkaAccepts: librdkafka 2.0 sends its client nonce
// before the combined nonce; Kafka accepts a final nonce that ends with the
// combined one, and so does Samsa. Any other nonce fails.
func TestScramNonceAsKafkaAccepts(t *testing.T) {
	salt := []byte("salt")
	salted := saltedPassword("pw", salt, 4096)
	cred, _ := ScramCredentialFromSaltedPassword(MechanismScramSHA256, salt, salted, 4096)
	a, _ := NewAuthenticator([]string{MechanismScramSHA256}, nil, memStore{{"a,b=c", MechanismScramSHA256}: cred})
	for _, tc := range []struct {
		name  string
		nonce func(cnonce, combined string) string
		ok    bool
	}{
		{"exact", func(_, combined string) string { return combined }, true},
		{"client nonce twice (librdkafka 2.0)", func(c, combined string) string { return c + combined }, true},
		{"client nonce only", func(c, _ string) string { return c }, false},
		{"truncated", func(_, combined string) string { return combined[:len(combined)-1] }, false},
	} {
		ex, _ := a.Start(MechanismScramSHA256)
		bare := "n=a=2Cb=3Dc,r=clientnonce"
		first, _, err := ex.Step([]byte("n,," + bare))
		if err != nil {
			t.Fatalf("%s: client-first: %v", tc.name, err)
		}
		combined := strings.TrimPrefix(strings.Split(string(first), ",")[0], "r=")
		if !strings.HasPrefix(combined, "clientnonce") || len(combined) <= len("clientnonce") {
			t.Fatalf("server nonce %q does not extend the client's", combined)
		}
		final, wantSig := clientFinalFor(bare, string(first), tc.nonce("clientnonce", combined), salted)
		reply, done, err := ex.Step([]byte(final))
		if done != tc.ok || (err == nil) != tc.ok {
			t.Errorf("%s: done %v err %v, want ok %v", tc.name, done, err, tc.ok)
			continue
		}
		if tc.ok && (string(reply) != wantSig || ex.Principal() != "a,b=c") {
			t.Errorf("%s: reply %q principal %q, want %q and the unescaped user", tc.name, reply, ex.Principal(), wantSig)
		}
	}
}
