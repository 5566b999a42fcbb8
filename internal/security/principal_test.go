package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"
)

// kafkaExampleRules are the rules of Kafka's documentation for
// ssl.principal.mapping.rules.
const kafkaExampleRules = `RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,` +
	`RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,` +
	`RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,` +
	`DEFAULT`

func TestPrincipalMappingRules(t *testing.T) {
	for _, tc := range []struct {
		rules, dn, want string
		err             error
	}{
		{"DEFAULT", "CN=Duke,OU=ServiceUsers,O=Org,C=US", "CN=Duke,OU=ServiceUsers,O=Org,C=US", nil},
		{"", "CN=Duke", "", ErrNoMatchingRule},
		{kafkaExampleRules, "CN=Duke,OU=ServiceUsers,O=Org,C=US", "Duke", nil},
		{kafkaExampleRules, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme", nil},
		{kafkaExampleRules, "cn=duke,ou=JavaSoft,o=Sun Microsystems", "duke", nil},
		{kafkaExampleRules, "OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US", nil},
		{`RULE:^CN=(.*),OU=ServiceUsers.*$/$1/U`, "CN=Duke,OU=ServiceUsers,O=Org,C=US", "DUKE", nil},
		{`RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/`, "CN=Duke,OU=Other,O=Org", "", ErrNoMatchingRule},
		// A backslash escapes a slash in the pattern and the replacement;
		// $1 followed by a digit-less suffix stays group 1.
		{`RULE:^CN=(.*?),OU=(.*?)$/$1\/$2x/`, "CN=duke,OU=sme", "duke/smex", nil},
		{` RULE:^CN=(.*?),.*$/$1/L , DEFAULT `, "CN=Duke,O=Org", "duke", nil},
		{`,DEFAULT`, "CN=Duke", "CN=Duke", nil},
	} {
		m, err := ParsePrincipalMappingRules(tc.rules)
		if err != nil {
			t.Errorf("%q: %v", tc.rules, err)
			continue
		}
		got, err := m.Name(tc.dn)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("rules %q, DN %q: %q, %v; want %q, %v", tc.rules, tc.dn, got, err, tc.want, tc.err)
		}
	}
}

func TestPrincipalMappingRulesRefused(t *testing.T) {
	for _, rules := range []string{
		"DEFAULT/L",
		"RULE:/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/LU",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/Ux",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1",
		"RULE:^CN=(?=a)(.*)$/$1/", // a lookahead: Java's syntax, not Go's
		"SOMETHING",
		"DEFAULT,FOO",
	} {
		if _, err := ParsePrincipalMappingRules(rules); err == nil {
			t.Errorf("%q was accepted", rules)
		}
	}
}

// selfSigned returns a certificate whose subject is the RDN sequence given.
func selfSigned(t *testing.T, subject pkix.RDNSequence) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := asn1.Marshal(subject)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: raw,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestDistinguishedName(t *testing.T) {
	atv := func(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	var (
		c     = asn1.ObjectIdentifier{2, 5, 4, 6}
		o     = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou    = asn1.ObjectIdentifier{2, 5, 4, 11}
		cn    = asn1.ObjectIdentifier{2, 5, 4, 3}
		dc    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
		email = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	)
	for _, tc := range []struct {
		name    string
		subject pkix.RDNSequence
		want    string
	}{
		{"reverse order", pkix.RDNSequence{{atv(c, "US")}, {atv(o, "Acme")}, {atv(ou, "eng")}, {atv(cn, "alice")}},
			"CN=alice,OU=eng,O=Acme,C=US"},
		{"the certificate's order, not a canonical one", pkix.RDNSequence{{atv(cn, "alice")}, {atv(o, "Acme")}},
			"O=Acme,CN=alice"},
		// DER sorts a SET's members (here the shorter OU first); they are
		// written in the certificate's order.
		{"multi-valued", pkix.RDNSequence{{atv(o, "Acme")}, {atv(cn, "alice"), atv(ou, "eng")}},
			"OU=eng+CN=alice,O=Acme"},
		{"escapes", pkix.RDNSequence{{atv(cn, ` Smith, John+"Jr" #1; <x>=y\ `)}},
			`CN=\ Smith\, John\+\"Jr\" \#1\; \<x\>\=y\\\ `},
		{"every leading and trailing space, NUL", pkix.RDNSequence{{atv(cn, "  a\x00b  ")}}, `CN=\ \ a\00b\ \ `},
		{"DC keyword", pkix.RDNSequence{{atv(dc, "com")}, {atv(dc, "example")}, {atv(cn, "svc")}},
			"CN=svc,DC=example,DC=com"},
		// An e-mail address is an IA5String: its encoding, tag 0x16.
		{"an OID without a keyword", pkix.RDNSequence{{atv(cn, "alice")}, {atv(email, asn1.RawValue{Tag: 22, Bytes: []byte("a@b")})}},
			"1.2.840.113549.1.9.1=#1603614062,CN=alice"},
		{"a UTF8String", pkix.RDNSequence{{atv(cn, asn1.RawValue{Tag: 12, Bytes: []byte("Zoë")})}}, "CN=Zoë"},
	} {
		got, err := DistinguishedName(selfSigned(t, tc.subject))
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// FuzzDistinguishedName: whatever a certificate's subject bytes, formatting
// them returns a name or an error, never a panic.
func FuzzDistinguishedName(f *testing.F) {
	for _, subject := range []pkix.RDNSequence{
		{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "alice"}}},
		{{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"}}, {{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: 7}}},
	} {
		raw, err := asn1.Marshal(subject)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = DistinguishedName(&x509.Certificate{RawSubject: raw})
	})
}

// FuzzPrincipalMappingRules: any rules text parses or is refused, and a
// parsed mapper maps any name or reports that no rule applies.
func FuzzPrincipalMappingRules(f *testing.F) {
	f.Add(kafkaExampleRules, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US")
	f.Add(`RULE:^CN=(.*?),OU=(.*?)$/$1\/$2x/U,DEFAULT`, "CN=a,OU=b")
	f.Fuzz(func(t *testing.T, rules, dn string) {
		m, err := ParsePrincipalMappingRules(rules)
		if err != nil {
			return
		}
		if _, err := m.Name(dn); err != nil && !errors.Is(err, ErrNoMatchingRule) {
			t.Fatalf("rules %q, DN %q: %v", rules, dn, err)
		}
	})
}
