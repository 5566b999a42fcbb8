package cli

// samsa acl: what kafka-acls.sh does (--add, --list, --remove), over the
// CreateAcls, DescribeAcls and DeleteAcls APIs of any Kafka broker.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclResources are the resource flags every acl subcommand shares.
type aclResources struct {
	topics, groups, txnIDs, users, tokens []string
	cluster                               bool
	pattern                               string
}

func (r *aclResources) addFlags(cmd *cobra.Command, defaultPattern, patternHelp string) {
	f := cmd.Flags()
	f.StringArrayVar(&r.topics, "topic", nil, "a topic (repeatable; * is every topic)")
	f.StringArrayVar(&r.groups, "group", nil, "a consumer group (repeatable; * is every group)")
	f.StringArrayVar(&r.txnIDs, "transactional-id", nil, "a transactional id (repeatable; * is every id)")
	f.BoolVar(&r.cluster, "cluster", false, "the cluster resource")
	f.StringArrayVar(&r.users, "user-principal", nil, "a user resource, User:NAME, for CreateTokens and DescribeTokens (repeatable)")
	f.StringArrayVar(&r.tokens, "delegation-token", nil, "a delegation token id, for Describe (repeatable; * is every token)")
	f.StringVar(&r.pattern, "resource-pattern-type", defaultPattern, patternHelp)
}

// aclResource is one resource a command acts on.
type aclResource struct {
	typ  kmsg.ACLResourceType
	name string
}

func (r *aclResources) list() []aclResource {
	var out []aclResource
	for _, t := range r.topics {
		out = append(out, aclResource{kmsg.ACLResourceTypeTopic, t})
	}
	for _, g := range r.groups {
		out = append(out, aclResource{kmsg.ACLResourceTypeGroup, g})
	}
	for _, x := range r.txnIDs {
		out = append(out, aclResource{kmsg.ACLResourceTypeTransactionalId, x})
	}
	if r.cluster {
		out = append(out, aclResource{kmsg.ACLResourceTypeCluster, "kafka-cluster"})
	}
	for _, u := range r.users {
		out = append(out, aclResource{kmsg.ACLResourceTypeUser, u})
	}
	for _, d := range r.tokens {
		out = append(out, aclResource{kmsg.ACLResourceTypeDelegationToken, d})
	}
	return out
}

func parsePattern(s string, allowed ...kmsg.ACLResourcePatternType) (kmsg.ACLResourcePatternType, error) {
	p, err := kmsg.ParseACLResourcePatternType(s)
	if err != nil || !slices.Contains(allowed, p) {
		var names []string
		for _, a := range allowed {
			names = append(names, strings.ToLower(a.String()))
		}
		return 0, usageErrorf("--resource-pattern-type %q: use %s", s, strings.Join(names, ", "))
	}
	return p, nil
}

func parseOperations(names []string, allowAny bool) ([]kmsg.ACLOperation, error) {
	var out []kmsg.ACLOperation
	for _, n := range names {
		op, err := kmsg.ParseACLOperation(n)
		if err != nil || op == kmsg.ACLOperationUnknown || (op == kmsg.ACLOperationAny && !allowAny) {
			return nil, usageErrorf("--operation %q: use Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All", n)
		}
		if !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	return out, nil
}

func newACLCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Manage access control lists (what kafka-acls does)",
		Long: "Manage the ACLs a broker with authorizer.class.name set enforces.\n" +
			"Principals are User:NAME (the SASL user) or User:* for everyone.",
		Args: noArgs,
	}
	cmd.AddCommand(newACLCreateCommand(cfg), newACLListCommand(cfg), newACLDeleteCommand(cfg))
	return cmd
}

func newACLCreateCommand(cfg *clientConfig) *cobra.Command {
	var res aclResources
	var allow, deny, allowHosts, denyHosts, operations []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Add ACLs: each principal × host × operation × resource",
		Example: "  samsa acl create --allow-principal User:alice --operation Read --operation Describe --topic orders\n" +
			"  samsa acl create --allow-principal User:alice --operation Read --group order- --resource-pattern-type prefixed",
		Args: noArgs,
	}
	res.addFlags(cmd, "literal", "literal or prefixed")
	f := cmd.Flags()
	f.StringArrayVar(&allow, "allow-principal", nil, "principal to allow, e.g. User:alice (repeatable)")
	f.StringArrayVar(&deny, "deny-principal", nil, "principal to deny (repeatable)")
	f.StringArrayVar(&allowHosts, "allow-host", nil, "host the allow applies to (default every host)")
	f.StringArrayVar(&denyHosts, "deny-host", nil, "host the deny applies to (default every host)")
	f.StringArrayVar(&operations, "operation", nil, "operation (repeatable): Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All")
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		pattern, err := parsePattern(res.pattern, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLResourcePatternTypePrefixed)
		if err != nil {
			return err
		}
		ops, err := parseOperations(operations, false)
		if err != nil {
			return err
		}
		resources := res.list()
		switch {
		case len(resources) == 0:
			return usageErrorf("name a resource: --topic, --group, --transactional-id, --cluster, --user-principal or --delegation-token")
		case len(allow) == 0 && len(deny) == 0:
			return usageErrorf("name a principal: --allow-principal or --deny-principal")
		case len(ops) == 0:
			return usageErrorf("name an operation: --operation")
		}
		if len(allowHosts) == 0 {
			allowHosts = []string{"*"}
		}
		if len(denyHosts) == 0 {
			denyHosts = []string{"*"}
		}
		req := kmsg.NewPtrCreateACLsRequest()
		add := func(principals, hosts []string, perm kmsg.ACLPermissionType) {
			for _, p := range principals {
				for _, h := range hosts {
					for _, op := range ops {
						for _, r := range resources {
							c := kmsg.NewCreateACLsRequestCreation()
							c.ResourceType, c.ResourceName, c.ResourcePatternType = r.typ, r.name, pattern
							c.Principal, c.Host, c.Operation, c.PermissionType = p, h, op, perm
							req.Creations = append(req.Creations, c)
						}
					}
				}
			}
		}
		add(allow, allowHosts, kmsg.ACLPermissionTypeAllow)
		add(deny, denyHosts, kmsg.ACLPermissionTypeDeny)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("create ACLs: %w", err)
		}
		var failed error
		for i, r := range resp.Results {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil && i < len(req.Creations) {
				c := req.Creations[i]
				failed = errors.Join(failed, fmt.Errorf("%s %s on %s: %w", c.Principal, c.Operation, resourceLabel(c.ResourceType, c.ResourceName), withBrokerMessage(err, deref(r.ErrorMessage))))
			}
		}
		if failed != nil {
			return failed
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Created %d ACL(s).\n", len(req.Creations))
		return nil
	})
	return cmd
}

// aclFilter is the filter flags of list and delete.
type aclFilter struct {
	res        aclResources
	principal  string
	host       string
	operation  string
	permission string
}

func (f *aclFilter) addFlags(cmd *cobra.Command) {
	f.res.addFlags(cmd, "any", "any, match (bindings that apply to the named resource, wildcards and prefixes included), literal or prefixed")
	fl := cmd.Flags()
	fl.StringVar(&f.principal, "principal", "", "only bindings of this principal")
	fl.StringVar(&f.host, "host", "", "only bindings for this host")
	fl.StringVar(&f.operation, "operation", "any", "only bindings of this operation")
	fl.StringVar(&f.permission, "permission", "any", "allow, deny or any")
}

// filters returns one DescribeAcls-style filter per named resource, or one
// for every resource when none is named.
func (f *aclFilter) filters() ([]kmsg.DescribeACLsRequest, error) {
	pattern, err := parsePattern(f.res.pattern, kmsg.ACLResourcePatternTypeAny, kmsg.ACLResourcePatternTypeMatch,
		kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLResourcePatternTypePrefixed)
	if err != nil {
		return nil, err
	}
	ops, err := parseOperations([]string{f.operation}, true)
	if err != nil {
		return nil, err
	}
	perm, err := kmsg.ParseACLPermissionType(f.permission)
	if err != nil || perm == kmsg.ACLPermissionTypeUnknown {
		return nil, usageErrorf("--permission %q: use allow, deny or any", f.permission)
	}
	base := kmsg.NewDescribeACLsRequest()
	base.ResourceType, base.ResourcePatternType, base.Operation, base.PermissionType = kmsg.ACLResourceTypeAny, pattern, ops[0], perm
	if f.principal != "" {
		base.Principal = &f.principal
	}
	if f.host != "" {
		base.Host = &f.host
	}
	resources := f.res.list()
	if len(resources) == 0 {
		return []kmsg.DescribeACLsRequest{base}, nil
	}
	var out []kmsg.DescribeACLsRequest
	for _, r := range resources {
		fr := base
		fr.ResourceType = r.typ
		name := r.name
		fr.ResourceName = &name
		out = append(out, fr)
	}
	return out, nil
}

// aclRow is one binding as list and delete print it.
type aclRow struct {
	principal, host, permission, operation, resource, pattern string
}

func printACLs(w io.Writer, rows []aclRow) error {
	slices.SortFunc(rows, func(a, b aclRow) int {
		return strings.Compare(a.resource+"\x00"+a.principal+"\x00"+a.operation+"\x00"+a.host, b.resource+"\x00"+b.principal+"\x00"+b.operation+"\x00"+b.host)
	})
	rows = slices.Compact(rows)
	tw := newTable(w)
	fmt.Fprintln(tw, "RESOURCE\tPATTERN\tPRINCIPAL\tHOST\tOPERATION\tPERMISSION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.resource, r.pattern, r.principal, r.host, r.operation, r.permission)
	}
	return tw.Flush()
}

func resourceLabel(typ kmsg.ACLResourceType, name string) string {
	return strings.ToLower(typ.String()) + ":" + name
}

func newACLListCommand(cfg *clientConfig) *cobra.Command {
	var filter aclFilter
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List ACLs, all or those matching the filter flags",
		Example: "  samsa acl list\n  samsa acl list --topic orders --resource-pattern-type match",
		Args:    noArgs,
	}
	filter.addFlags(cmd)
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		filters, err := filter.filters()
		if err != nil {
			return err
		}
		var rows []aclRow
		for i := range filters {
			resp, err := filters[i].RequestWith(ctx, cl)
			if err != nil {
				return fmt.Errorf("describe ACLs: %w", err)
			}
			if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
				return fmt.Errorf("describe ACLs: %w", withBrokerMessage(err, deref(resp.ErrorMessage)))
			}
			for _, r := range resp.Resources {
				for _, a := range r.ACLs {
					rows = append(rows, aclRow{a.Principal, a.Host, strings.ToUpper(a.PermissionType.String()), strings.ToUpper(a.Operation.String()),
						resourceLabel(r.ResourceType, r.ResourceName), strings.ToUpper(r.ResourcePatternType.String())})
				}
			}
		}
		return printACLs(cmd.OutOrStdout(), rows)
	})
	return cmd
}

func newACLDeleteCommand(cfg *clientConfig) *cobra.Command {
	var filter aclFilter
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete the ACLs matching the filter flags, and print them",
		Example: "  samsa acl delete --topic orders --principal User:alice",
		Args:    noArgs,
	}
	filter.addFlags(cmd)
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		if len(filter.res.list()) == 0 && filter.principal == "" {
			return usageErrorf("name what to delete: a resource (--topic, --group, --transactional-id, --cluster, --user-principal, --delegation-token) or --principal")
		}
		filters, err := filter.filters()
		if err != nil {
			return err
		}
		req := kmsg.NewPtrDeleteACLsRequest()
		for _, f := range filters {
			df := kmsg.NewDeleteACLsRequestFilter()
			df.ResourceType, df.ResourceName, df.ResourcePatternType = f.ResourceType, f.ResourceName, f.ResourcePatternType
			df.Principal, df.Host, df.Operation, df.PermissionType = f.Principal, f.Host, f.Operation, f.PermissionType
			req.Filters = append(req.Filters, df)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("delete ACLs: %w", err)
		}
		var rows []aclRow
		var failed error
		for _, r := range resp.Results {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				failed = errors.Join(failed, fmt.Errorf("delete ACLs: %w", withBrokerMessage(err, deref(r.ErrorMessage))))
				continue
			}
			for _, m := range r.MatchingACLs {
				rows = append(rows, aclRow{m.Principal, m.Host, strings.ToUpper(m.PermissionType.String()), strings.ToUpper(m.Operation.String()),
					resourceLabel(m.ResourceType, m.ResourceName), strings.ToUpper(m.ResourcePatternType.String())})
			}
		}
		if failed != nil {
			return failed
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Deleted %d ACL(s).\n", len(rows))
		return printACLs(cmd.OutOrStdout(), rows)
	})
	return cmd
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
