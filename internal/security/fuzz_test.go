package security

import "testing"

// FuzzExchange feeds arbitrary client tokens (network bytes) to every
// mechanism: an exchange may fail, never panic, and never authenticate
// without the credentials.
func FuzzExchange(f *testing.F) {
	f.Add("SCRAM-SHA-256", []byte("n,,n=alice,r=abc"), []byte("c=biws,r=abcdef,p=AAAA"))
	f.Add("SCRAM-SHA-512", []byte("n,a=x,n=x,r="), []byte(""))
	f.Add("PLAIN", []byte("\x00alice\x00pw"), []byte("again"))
	salt := []byte("salt")
	cred, err := ScramCredentialFromSaltedPassword(MechanismScramSHA256, salt, saltedPassword("pw", salt, 4096), 4096)
	if err != nil {
		f.Fatal(err)
	}
	store := memStore{{"alice", MechanismScramSHA256}: cred}
	a, err := NewAuthenticator([]string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}, map[string]string{"alice": "pw"}, store)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, mech string, first, second []byte) {
		ex, err := a.Start(mech)
		if err != nil {
			return
		}
		_, done, err := ex.Step(first)
		if err != nil || done {
			return
		}
		_, done, _ = ex.Step(second)
		if done && mech != MechanismPlain {
			// A forged client-final would have to contain a valid proof.
			t.Fatalf("SCRAM authenticated from fuzzed tokens %q, %q", first, second)
		}
	})
}
