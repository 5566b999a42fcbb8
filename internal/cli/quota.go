package cli

// samsa quotas: what kafka-configs.sh does for --entity-type users, clients
// and ips with quota keys, over the AlterClientQuotas and
// DescribeClientQuotas APIs of any Kafka broker.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// quotaEntityFlags name a quota entity: a user, a client id (each by name or
// the default) or an IP address.
type quotaEntityFlags struct {
	user, clientID, ip                      string
	userDefault, clientIDDefault, ipDefault bool
}

func (e *quotaEntityFlags) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&e.user, "user", "", "the user (SASL user name, or ANONYMOUS)")
	f.BoolVar(&e.userDefault, "user-default", false, "the default user: every user without a quota of its own")
	f.StringVar(&e.clientID, "client", "", "the client id the quota applies to (--client-id is the connection's own)")
	f.BoolVar(&e.clientIDDefault, "client-default", false, "the default client id")
	f.StringVar(&e.ip, "ip", "", "the client IP address (connection_creation_rate)")
	f.BoolVar(&e.ipDefault, "ip-default", false, "the default IP address")
}

// quotaPart is one part of the entity: its type and name (nil for the
// default).
type quotaPart struct {
	typ  string
	name *string
}

func (e *quotaEntityFlags) parts() ([]quotaPart, error) {
	var out []quotaPart
	for _, p := range []struct {
		typ, name string
		isDefault bool
		flag      string
	}{{"user", e.user, e.userDefault, "--user"}, {"client-id", e.clientID, e.clientIDDefault, "--client"}, {"ip", e.ip, e.ipDefault, "--ip"}} {
		switch {
		case p.name != "" && p.isDefault:
			return nil, usageErrorf("give %s or %s-default, not both", p.flag, p.flag)
		case p.name != "":
			name := p.name
			out = append(out, quotaPart{typ: p.typ, name: &name})
		case p.isDefault:
			out = append(out, quotaPart{typ: p.typ})
		}
	}
	return out, nil
}

func newQuotasCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Manage client quotas (what kafka-configs does for users, clients and ips)",
		Long: "Set and show client quotas. Keys: producer_byte_rate and consumer_byte_rate\n" +
			"(bytes per second), request_percentage, controller_mutation_rate for users\n" +
			"and client ids; connection_creation_rate for IP addresses.",
		Args: noArgs,
	}
	cmd.AddCommand(newQuotasAlterCommand(cfg), newQuotasDescribeCommand(cfg))
	return cmd
}

func newQuotasAlterCommand(cfg *clientConfig) *cobra.Command {
	var entity quotaEntityFlags
	var add, remove []string
	var validateOnly bool
	cmd := &cobra.Command{
		Use:   "alter",
		Short: "Set or delete quota values of one entity",
		Example: "  samsa quotas alter --user alice --add-config producer_byte_rate=1048576,consumer_byte_rate=2097152\n" +
			"  samsa quotas alter --user-default --client-default --add-config producer_byte_rate=524288\n" +
			"  samsa quotas alter --client batch-loader --delete-config producer_byte_rate",
		Args: noArgs,
	}
	entity.addFlags(cmd)
	f := cmd.Flags()
	f.StringSliceVar(&add, "add-config", nil, "key=value pairs to set, comma-separated (repeatable)")
	f.StringSliceVar(&remove, "delete-config", nil, "keys to delete, comma-separated (repeatable)")
	f.BoolVar(&validateOnly, "validate-only", false, "check with the broker without changing anything")
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		parts, err := entity.parts()
		if err != nil {
			return err
		}
		if len(parts) == 0 {
			return usageErrorf("name the entity: --user, --client or --ip (or their -default forms)")
		}
		var ops []kadm.AlterClientQuotaOp
		for _, kv := range add {
			key, value, ok := strings.Cut(kv, "=")
			v, err := strconv.ParseFloat(value, 64)
			if !ok || key == "" || err != nil {
				return usageErrorf("--add-config %q: want key=number", kv)
			}
			ops = append(ops, kadm.AlterClientQuotaOp{Key: key, Value: v})
		}
		for _, key := range remove {
			ops = append(ops, kadm.AlterClientQuotaOp{Key: key, Remove: true})
		}
		if len(ops) == 0 {
			return usageErrorf("give --add-config or --delete-config")
		}
		var e kadm.ClientQuotaEntity
		for _, p := range parts {
			e = append(e, kadm.ClientQuotaEntityComponent{Type: p.typ, Name: p.name})
		}
		entries := []kadm.AlterClientQuotaEntry{{Entity: e, Ops: ops}}
		adm := kadm.NewClient(cl)
		alter := adm.AlterClientQuotas
		if validateOnly {
			alter = adm.ValidateAlterClientQuotas
		}
		res, err := alter(ctx, entries)
		if err != nil {
			return fmt.Errorf("alter client quotas: %w", err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("alter client quotas of %s: %w", quotaEntityLabel(r.Entity), withBrokerMessage(r.Err, r.ErrMessage))
			}
		}
		verb := "Altered"
		if validateOnly {
			verb = "Validated"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s the quotas of %s.\n", verb, quotaEntityLabel(e))
		return nil
	})
	return cmd
}

func newQuotasDescribeCommand(cfg *clientConfig) *cobra.Command {
	var entity quotaEntityFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Show the quotas of every entity matching the flags (all without flags)",
		Example: "  samsa quotas describe\n" +
			"  samsa quotas describe --user alice\n" +
			"  samsa quotas describe --user-default --strict",
		Args: noArgs,
	}
	entity.addFlags(cmd)
	cmd.Flags().BoolVar(&strict, "strict", false, "only entities with exactly the named types (--user alice leaves out alice's per-client quotas)")
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		parts, err := entity.parts()
		if err != nil {
			return err
		}
		var filter []kadm.DescribeClientQuotaComponent
		for _, p := range parts {
			c := kadm.DescribeClientQuotaComponent{Type: p.typ, MatchName: p.name, MatchType: 0}
			if p.name == nil {
				c.MatchType = 1
			}
			filter = append(filter, c)
		}
		described, err := kadm.NewClient(cl).DescribeClientQuotas(ctx, strict, filter)
		if err != nil {
			return fmt.Errorf("describe client quotas: %w", err)
		}
		type row struct{ entity, key, value string }
		var rows []row
		for _, d := range described {
			for _, v := range d.Values {
				rows = append(rows, row{quotaEntityLabel(d.Entity), v.Key, strconv.FormatFloat(v.Value, 'f', -1, 64)})
			}
		}
		slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.entity+"\x00"+a.key, b.entity+"\x00"+b.key) })
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "ENTITY\tKEY\tVALUE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.entity, r.key, r.value)
		}
		return tw.Flush()
	})
	return cmd
}

// quotaEntityLabel prints an entity as user=alice,client-id=<default>, in
// a fixed type order.
func quotaEntityLabel(e kadm.ClientQuotaEntity) string {
	order := map[string]int{"user": 0, "client-id": 1, "ip": 2}
	sorted := slices.Clone(e)
	slices.SortFunc(sorted, func(a, b kadm.ClientQuotaEntityComponent) int { return order[a.Type] - order[b.Type] })
	var parts []string
	for _, c := range sorted {
		name := "<default>"
		if c.Name != nil {
			name = *c.Name
		}
		parts = append(parts, c.Type+"="+name)
	}
	return strings.Join(parts, ",")
}
