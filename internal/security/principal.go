package security

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// ErrNoMatchingRule means no ssl.principal.mapping.rules rule applies to a
// client certificate's distinguished name; Kafka fails the SSL
// authentication then.
var ErrNoMatchingRule = errors.New("no ssl.principal.mapping.rules rule applies")

// PrincipalMapper turns the distinguished name of a client certificate into
// a principal name, as Kafka's ssl.principal.mapping.rules do: the first rule
// that applies decides. DEFAULT applies to every name and keeps it as it is;
// RULE:pattern/replacement/[L|U] applies when pattern (a regular expression)
// matches the whole name, which becomes the replacement ($1 for the first
// group), lower-cased with L or upper-cased with U.
type PrincipalMapper struct {
	rules []principalRule
}

type principalRule struct {
	text        string
	isDefault   bool
	whole       *regexp.Regexp // pattern anchored at both ends: does it apply?
	pattern     *regexp.Regexp
	replacement string // in Go's Expand syntax
	lower       bool
	upper       bool
}

// ParsePrincipalMappingRules parses ssl.principal.mapping.rules: rules
// separated by commas (a rule's pattern may contain commas; a backslash
// escapes the next character, so \/ is a slash inside a pattern).
func ParsePrincipalMappingRules(s string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		var r principalRule
		var err error
		start := rest
		switch {
		case strings.HasPrefix(rest, "DEFAULT"):
			r.isDefault = true
			rest = rest[len("DEFAULT"):]
		case strings.HasPrefix(rest, "RULE:"):
			if r, rest, err = parseRule(rest[len("RULE:"):]); err != nil {
				return nil, fmt.Errorf("ssl.principal.mapping.rules: %w", err)
			}
		case rest[0] == ',':
			// An empty rule is ignored, as Kafka ignores it.
		default:
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule %q: a rule is DEFAULT or RULE:pattern/replacement/[L|U]", firstRule(rest))
		}
		r.text = strings.TrimSpace(start[:len(start)-len(rest)])
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest != "" && rest[0] != ',' {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule %q: unmatched text %q", r.text+firstRule(rest), firstRule(rest))
		}
		if rest != "" {
			rest = strings.TrimLeftFunc(rest[1:], unicode.IsSpace)
		}
		if r.isDefault || r.pattern != nil {
			m.rules = append(m.rules, r)
		}
	}
	return m, nil
}

// firstRule is s up to its first comma, for messages.
func firstRule(s string) string {
	before, _, _ := strings.Cut(s, ",")
	return before
}

// parseRule parses pattern/replacement/[LU] (after "RULE:") and returns the
// rule and what follows it.
func parseRule(s string) (principalRule, string, error) {
	var r principalRule
	pattern, s, ok := cutUnescaped(s)
	if !ok {
		return r, "", fmt.Errorf("invalid rule RULE:%s: want RULE:pattern/replacement/[L|U]", s)
	}
	replacement, s, ok := cutUnescaped(s)
	if !ok {
		return r, "", fmt.Errorf("invalid rule RULE:%s/%s: want RULE:pattern/replacement/[L|U]", pattern, s)
	}
	switch {
	case strings.HasPrefix(s, "L"):
		r.lower, s = true, s[1:]
	case strings.HasPrefix(s, "U"):
		r.upper, s = true, s[1:]
	}
	var err error
	if r.pattern, err = regexp.Compile(pattern); err != nil {
		return r, "", fmt.Errorf("rule pattern %q: %v", pattern, err)
	}
	if r.whole, err = regexp.Compile(`^(?:` + pattern + `)$`); err != nil {
		return r, "", fmt.Errorf("rule pattern %q: %v", pattern, err)
	}
	r.replacement = expandTemplate(replacement)
	return r, s, nil
}

// cutUnescaped returns s up to its first slash not escaped by a backslash
// (the escapes are kept: the pattern's regular expression reads them) and
// what follows that slash.
func cutUnescaped(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// expandTemplate turns a Java replacement ($1 is group 1, \x is x) into
// Go's Expand syntax, where $1x would name a group "1x".
func expandTemplate(repl string) string {
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch {
		case c == '\\' && i+1 < len(repl):
			i++
			if repl[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(repl[i])
			}
		case c == '$' && i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9':
			j := i + 1
			for j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			b.WriteString("${" + repl[i+1:j] + "}")
			i = j - 1
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Name returns the principal name of distinguished name dn.
func (m *PrincipalMapper) Name(dn string) (string, error) {
	for _, r := range m.rules {
		if r.isDefault {
			return dn, nil
		}
		if !r.whole.MatchString(dn) {
			continue
		}
		name := r.pattern.ReplaceAllString(dn, r.replacement)
		switch {
		case r.lower:
			name = strings.ToLower(name)
		case r.upper:
			name = strings.ToUpper(name)
		}
		return name, nil
	}
	texts := make([]string, len(m.rules))
	for i, r := range m.rules {
		texts[i] = r.text
	}
	return "", fmt.Errorf("%w to %q (rules %v)", ErrNoMatchingRule, dn, texts)
}

// CertificatePrincipal returns the principal name of a client certificate:
// its subject's distinguished name, mapped.
func (m *PrincipalMapper) CertificatePrincipal(cert *x509.Certificate) (string, error) {
	dn, err := DistinguishedName(cert)
	if err != nil {
		return "", err
	}
	return m.Name(dn)
}

// rfc2253Keywords are the attribute types RFC 2253 names by keyword, as
// Java's X500Principal.getName() (the name Kafka maps) does; others are
// written as their OID with the value's DER encoding in hex.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// rawAttribute is an attribute of a certificate's subject with its value's
// encoding kept: a value without a keyword is written as that encoding.
type rawAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRelativeNameSET is one relative distinguished name (encoding/asn1
// reads a slice type whose name ends in SET as a SET).
type rawRelativeNameSET []rawAttribute

// DistinguishedName formats a certificate's subject as RFC 2253 does, the
// way Java's X500Principal.getName() formats it: the relative names in
// reverse order of the certificate's (CN first, usually), the attributes of
// a multi-valued one joined by "+", special characters escaped, and an
// attribute RFC 2253 has no keyword for as its OID and "#" and the hex of its
// value's DER encoding.
func DistinguishedName(cert *x509.Certificate) (string, error) {
	var rdns []rawRelativeNameSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return "", fmt.Errorf("client certificate subject: %v (%d bytes left)", err, len(rest))
	}
	parts := make([]string, 0, len(rdns))
	for _, rdn := range slices.Backward(rdns) {
		attrs := make([]string, 0, len(rdn))
		for _, a := range rdn {
			attrs = append(attrs, formatAttribute(a))
		}
		parts = append(parts, strings.Join(attrs, "+"))
	}
	return strings.Join(parts, ","), nil
}

func formatAttribute(a rawAttribute) string {
	oid := a.Type.String()
	if kw, ok := rfc2253Keywords[oid]; ok {
		var v string
		if rest, err := asn1.Unmarshal(a.Value.FullBytes, &v); err == nil && len(rest) == 0 {
			return kw + "=" + escapeRFC2253(v)
		}
	}
	return oid + "=#" + hex.EncodeToString(a.Value.FullBytes)
}

// escapeRFC2253 escapes an attribute value as Java's X500Principal.getName()
// does: the characters RFC 2253 reserves (and '=' and '#' anywhere) get a
// backslash, as do leading and trailing spaces and a carriage return; NUL is
// written \00.
func escapeRFC2253(s string) string {
	lead := len(s) - len(strings.TrimLeft(s, " "))
	trail := len(strings.TrimRight(s, " "))
	var b strings.Builder
	for i, c := range s {
		switch {
		case c == 0:
			b.WriteString(`\00`)
			continue
		case strings.ContainsRune(",=+<>#;\"\\\r", c):
			b.WriteByte('\\')
		case c == ' ' && (i < lead || i >= trail):
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
