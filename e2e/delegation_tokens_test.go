package e2e

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestDelegationTokens: a SCRAM user creates a delegation token (KIP-48); a
// client authenticating with it (SCRAM, tokenauth=true) is the token's owner
// for the ACLs but may not manage tokens; renewers may renew, others get
// DELEGATION_TOKEN_OWNER_MISMATCH and see nothing; creating one for another
// owner needs CREATE_TOKENS on that user; an expired token authenticates no
// more; tokens survive a restart; PLAINTEXT clients may not manage tokens.
func TestDelegationTokens(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.Start(t, map[string]string{
		"log.dirs":                        dir,
		"listeners":                       "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":         "SCRAM-SHA-256,SCRAM-SHA-512",
		"delegation.token.secret.key":     "a secret only this cluster knows",
		"delegation.token.expiry.time.ms": "60000",
		"authorizer.class.name":           "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                     "User:ANONYMOUS", // PLAINTEXT administers
	})
	ctx := brokertest.Context(t, 60*time.Second)
	adm := b.Admin()
	var upserts []kadm.UpsertSCRAM
	for _, user := range []string{"alice", "bob", "carol"} {
		upserts = append(upserts, kadm.UpsertSCRAM{User: user, Mechanism: kadm.ScramSha256, Iterations: 4096, Password: user + "-secret"})
	}
	if _, err := adm.AlterUserSCRAMs(ctx, nil, upserts); err != nil {
		t.Fatal(err)
	}
	createTopic(t, adm, "dt", 1, nil)
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").Topics("dt").Operations(kadm.OpWrite, kadm.OpDescribe))
	sasl := func() string { return b.B.Addrs()[1] }
	userAdmin := func(user string) *kadm.Client {
		return kadm.NewClient(securedClient(t, sasl(), kgo.SASL(scram.Auth{User: user, Pass: user + "-secret"}.AsSha256Mechanism())))
	}
	tokenClient := func(tok kadm.DelegationToken, opts ...kgo.Opt) *kgo.Client {
		auth := scram.Auth{User: tok.TokenID, Pass: base64.StdEncoding.EncodeToString(tok.HMAC), IsToken: true}
		return securedClient(t, sasl(), append([]kgo.Opt{kgo.SASL(auth.AsSha512Mechanism()), kgo.DisableIdempotentWrite()}, opts...)...)
	}
	wantCode := func(what string, err error, want *kerr.Error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %s", what, err, want.Message)
		}
	}

	_, err := adm.CreateDelegationToken(ctx, kadm.CreateDelegationToken{})
	wantCode("create over PLAINTEXT", err, kerr.DelegationTokenRequestNotAllowed)

	alice := userAdmin("alice")
	before := time.Now()
	tok, err := alice.CreateDelegationToken(ctx, kadm.CreateDelegationToken{Renewers: []kadm.Principal{{Name: "bob"}}, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Owner.Name != "alice" || tok.TokenRequesterPrincipal.Name != "alice" || len(tok.HMAC) != 64 || tok.TokenID == "" ||
		tok.ExpiryTimestamp.Sub(tok.IssueTimestamp) != time.Minute || tok.MaxTimestamp.Sub(tok.IssueTimestamp) != time.Hour ||
		tok.IssueTimestamp.Before(before.Add(-time.Second)) {
		t.Fatalf("created token %+v", tok)
	}

	// The token authenticates as alice: her WRITE ACL applies.
	tc := tokenClient(tok)
	if err := produceErr(ctx, tc, "dt"); err != nil {
		t.Fatalf("produce with alice's token: %v", err)
	}
	_, err = kadm.NewClient(tc).DescribeDelegationTokens(ctx)
	wantCode("describe on a token-authenticated connection", err, kerr.DelegationTokenRequestNotAllowed)

	bob, carol := userAdmin("bob"), userAdmin("carol")
	if _, err := bob.RenewDelegationToken(ctx, tok.HMAC, 2*time.Minute); err != nil {
		t.Fatalf("renewer bob renews: %v", err)
	}
	_, err = carol.RenewDelegationToken(ctx, tok.HMAC, time.Minute)
	wantCode("carol renews", err, kerr.DelegationTokenOwnerMismatch)
	_, err = alice.RenewDelegationToken(ctx, []byte("no such token"), time.Minute)
	wantCode("renew an unknown HMAC", err, kerr.DelegationTokenNotFound)
	for _, tc := range []struct {
		who  string
		adm  *kadm.Client
		want int
	}{{"alice", alice, 1}, {"bob", bob, 1}, {"carol", carol, 0}} {
		described, err := tc.adm.DescribeDelegationTokens(ctx)
		if err != nil || len(described) != tc.want {
			t.Fatalf("%s describes %d tokens (%v), want %d", tc.who, len(described), err, tc.want)
		}
		if tc.want == 1 && (described[0].TokenID != tok.TokenID || described[0].ExpiryTimestamp.Sub(described[0].IssueTimestamp) < 2*time.Minute) {
			t.Fatalf("%s describes %+v", tc.who, described[0])
		}
	}

	// Describing by owner names a renewer's tokens too.
	if described, err := bob.DescribeDelegationTokens(ctx, kadm.Principal{Type: "User", Name: "bob"}); err != nil || len(described) != 1 || described[0].TokenID != tok.TokenID {
		t.Fatalf("bob describes the tokens of owner bob: %+v, %v; want alice's, which he renews", described, err)
	}

	// Creating a token owned by bob needs CREATE_TOKENS on User:bob.
	_, err = alice.CreateDelegationToken(ctx, kadm.CreateDelegationToken{Owner: &kadm.Principal{Name: "bob"}})
	wantCode("alice creates bob's token", err, kerr.DelegationTokenAuthorizationFailed)
	// kadm's builder has no user resources: CreateAcls by hand.
	create := kmsg.NewPtrCreateACLsRequest()
	c := kmsg.NewCreateACLsRequestCreation()
	// A user resource is named by the principal, as kafka-acls
	// --user-principal User:bob names it.
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeUser, "User:bob", kmsg.ACLResourcePatternTypeLiteral
	c.Principal, c.Host, c.Operation, c.PermissionType = "User:alice", "*", kmsg.ACLOperationCreateTokens, kmsg.ACLPermissionTypeAllow
	create.Creations = append(create.Creations, c)
	if resp, err := create.RequestWith(ctx, b.Client()); err != nil || resp.Results[0].ErrorCode != 0 {
		t.Fatalf("CreateAcls CREATE_TOKENS on User:bob: %v %+v", err, resp)
	}
	bobs, err := alice.CreateDelegationToken(ctx, kadm.CreateDelegationToken{Owner: &kadm.Principal{Name: "bob"}})
	if err != nil || bobs.Owner.Name != "bob" || bobs.TokenRequesterPrincipal.Name != "alice" {
		t.Fatalf("alice creates bob's token with CREATE_TOKENS: %+v, %v", bobs, err)
	}
	// bob's token is bob: he has no WRITE on dt.
	wantCode("produce with bob's token", produceErr(ctx, tokenClient(bobs), "dt"), kerr.TopicAuthorizationFailed)

	// Tokens survive a restart.
	b.Restart()
	if err := produceErr(ctx, tokenClient(tok), "dt"); err != nil {
		t.Fatalf("produce with alice's token after a restart: %v", err)
	}

	// An expired token authenticates no more.
	if _, err := userAdmin("alice").ExpireDelegationToken(ctx, tok.HMAC, -time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wantCode("ping with an expired token", tokenClient(tok).Ping(ctx), kerr.SaslAuthenticationFailed)
	// What alice still sees is bob's token, which she requested.
	if described, err := userAdmin("alice").DescribeDelegationTokens(ctx); err != nil || len(described) != 1 || described[0].TokenID != bobs.TokenID {
		t.Fatalf("alice describes %+v (%v) after expiring hers, want bob's token only", described, err)
	}
}

// TestDelegationTokensDisabled: without delegation.token.secret.key every
// token API answers DELEGATION_TOKEN_AUTH_DISABLED.
func TestDelegationTokensDisabled(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	_, err := b.Admin().CreateDelegationToken(ctx, kadm.CreateDelegationToken{})
	if !errors.Is(err, kerr.DelegationTokenAuthDisabled) {
		t.Fatalf("create: %v, want DELEGATION_TOKEN_AUTH_DISABLED", err)
	}
	if _, err := b.Admin().DescribeDelegationTokens(ctx); !errors.Is(err, kerr.DelegationTokenAuthDisabled) {
		t.Fatalf("describe: %v, want DELEGATION_TOKEN_AUTH_DISABLED", err)
	}
}
