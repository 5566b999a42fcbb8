package cli

// samsa tokens create | renew | expire | describe: what
// kafka-delegation-tokens.sh does.

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

func newTokensCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Manage delegation tokens (what kafka-delegation-tokens does); needs a SASL or client-certificate connection",
		Args:  noArgs,
	}
	cmd.AddCommand(newTokensCreateCommand(cfg), newTokensChangeCommand(cfg, "renew"), newTokensChangeCommand(cfg, "expire"),
		newTokensDescribeCommand(cfg))
	return cmd
}

// parsePrincipal reads User:name (or a bare name, a user).
func parsePrincipal(s string) (kadm.Principal, error) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok {
		typ, name = "User", s
	}
	if name == "" {
		return kadm.Principal{}, usageErrorf("principal %q: want User:name", s)
	}
	return kadm.Principal{Type: typ, Name: name}, nil
}

func principalString(p kadm.Principal) string {
	if p.Type == "" {
		p.Type = "User"
	}
	return p.Type + ":" + p.Name
}

// printTokens writes tokens as a table with their HMACs in base64 (the SCRAM
// password of a client that authenticates with the token).
func printTokens(cmd *cobra.Command, tokens kadm.DelegationTokens) error {
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "TOKEN ID\tHMAC\tOWNER\tREQUESTER\tRENEWERS\tISSUED\tEXPIRES\tMAX")
	for _, t := range tokens {
		renewers := make([]string, len(t.Renewers))
		for i, r := range t.Renewers {
			renewers[i] = principalString(r)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.TokenID, base64.StdEncoding.EncodeToString(t.HMAC),
			principalString(t.Owner), principalString(t.TokenRequesterPrincipal), strings.Join(renewers, ","),
			t.IssueTimestamp.UTC().Format(time.RFC3339), t.ExpiryTimestamp.UTC().Format(time.RFC3339), t.MaxTimestamp.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func newTokensCreateCommand(cfg *clientConfig) *cobra.Command {
	var renewers []string
	var owner string
	var maxLifetime time.Duration
	cmd := &cobra.Command{
		Use:   "create [--renewer User:name]... [--owner User:name] [--max-lifetime D]",
		Short: "Create a delegation token; its HMAC (base64) is the SCRAM password, its id the user name",
		Args:  noArgs,
	}
	cmd.Flags().StringSliceVar(&renewers, "renewer", nil, "a principal that may renew the token (repeatable)")
	cmd.Flags().StringVar(&owner, "owner", "", "the token's owner, if not you (needs CREATE_TOKENS on that user)")
	cmd.Flags().DurationVar(&maxLifetime, "max-lifetime", 0, "the token's longest life (0: the broker's delegation.token.max.lifetime.ms)")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		req := kadm.CreateDelegationToken{MaxLifetime: maxLifetime}
		for _, r := range renewers {
			p, err := parsePrincipal(r)
			if err != nil {
				return err
			}
			req.Renewers = append(req.Renewers, p)
		}
		if owner != "" {
			p, err := parsePrincipal(owner)
			if err != nil {
				return err
			}
			req.Owner = &p
		}
		t, err := adm.CreateDelegationToken(ctx, req)
		if err != nil {
			return fmt.Errorf("create delegation token: %w", err)
		}
		return printTokens(cmd, kadm.DelegationTokens{t})
	})
	return cmd
}

// newTokensChangeCommand is samsa tokens renew or expire.
func newTokensChangeCommand(cfg *clientConfig, verb string) *cobra.Command {
	var hmac string
	var period time.Duration
	cmd := &cobra.Command{
		Use:  verb + " --hmac BASE64 [--period D]",
		Args: noArgs,
	}
	cmd.Short = "Expire a delegation token after --period (default: now, which removes it)"
	if verb == "renew" {
		cmd.Short = "Extend a delegation token's life by --period from now (default: the broker's delegation.token.expiry.time.ms)"
	}
	cmd.Flags().DurationVar(&period, "period", -time.Millisecond, "how long from now")
	cmd.Flags().StringVar(&hmac, "hmac", "", "the token's HMAC, in base64 as create prints it")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		mac, err := base64.StdEncoding.DecodeString(hmac)
		if err != nil || hmac == "" {
			return usageErrorf("--hmac must be the token's HMAC in base64")
		}
		var expiry time.Time
		if verb == "renew" {
			expiry, err = adm.RenewDelegationToken(ctx, mac, period)
		} else {
			expiry, err = adm.ExpireDelegationToken(ctx, mac, period)
		}
		if err != nil {
			return fmt.Errorf("%s delegation token: %w", verb, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Expiry: %s\n", expiry.UTC().Format(time.RFC3339))
		return nil
	})
	return cmd
}

func newTokensDescribeCommand(cfg *clientConfig) *cobra.Command {
	var owners []string
	cmd := &cobra.Command{
		Use:   "describe [--owner User:name]...",
		Short: "List the delegation tokens you may see (of the owners named, or all)",
		Args:  noArgs,
	}
	cmd.Flags().StringSliceVar(&owners, "owner", nil, "only tokens of this owner (repeatable)")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		var ps []kadm.Principal
		for _, o := range owners {
			p, err := parsePrincipal(o)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		tokens, err := adm.DescribeDelegationTokens(ctx, ps...)
		if err != nil {
			return fmt.Errorf("describe delegation tokens: %w", err)
		}
		return printTokens(cmd, tokens)
	})
	return cmd
}
