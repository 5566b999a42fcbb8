package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// scramMechanisms maps the names users type to kadm's mechanisms.
var scramMechanisms = map[string]kadm.ScramMechanism{
	"SCRAM-SHA-256": kadm.ScramSha256,
	"SCRAM-SHA-512": kadm.ScramSha512,
}

func parseScramMechanisms(names []string) ([]kadm.ScramMechanism, error) {
	var out []kadm.ScramMechanism
	for _, n := range names {
		m, ok := scramMechanisms[strings.ToUpper(strings.TrimSpace(n))]
		if !ok {
			return nil, usageErrorf("--mechanism %q: use SCRAM-SHA-256 or SCRAM-SHA-512", n)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func newUsersCommand(cfg *clientConfig) *cobra.Command {
	users := &cobra.Command{
		Use:   "users",
		Short: "Manage SASL/SCRAM users (what kafka-configs --entity-type users does)",
		Args:  noArgs,
	}
	users.AddCommand(newUsersCreateCommand(cfg), newUsersListCommand(cfg), newUsersDeleteCommand(cfg))
	return users
}

func newUsersCreateCommand(cfg *clientConfig) *cobra.Command {
	var password string
	var passwordStdin bool
	var mechanisms []string
	var iterations int32
	cmd := &cobra.Command{
		Use:   "create USER",
		Short: "Create a SCRAM user or set a new password (the client salts it; the broker never sees it)",
		Args:  cobra.ExactArgs(1),
	}
	flags := cmd.Flags()
	flags.StringVar(&password, "password", "", "the password (visible in the process list; prefer --password-stdin)")
	flags.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	flags.StringSliceVar(&mechanisms, "mechanism", []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}, "SCRAM mechanisms to set the password for")
	flags.Int32Var(&iterations, "iterations", 4096, "PBKDF2 iterations (4096 to 16384)")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error {
		mechs, err := parseScramMechanisms(mechanisms)
		if err != nil {
			return err
		}
		if passwordStdin {
			if password != "" {
				return usageErrorf("give --password or --password-stdin, not both")
			}
			if password, err = readPasswordLine(cmd.InOrStdin()); err != nil {
				return err
			}
		}
		if password == "" {
			return usageErrorf("a password is required (--password or --password-stdin)")
		}
		if iterations < 4096 || iterations > 16384 {
			return usageErrorf("--iterations must be 4096 to 16384, got %d", iterations)
		}
		var upserts []kadm.UpsertSCRAM
		for _, m := range mechs {
			upserts = append(upserts, kadm.UpsertSCRAM{User: args[0], Mechanism: m, Iterations: iterations, Password: password})
		}
		altered, err := adm.AlterUserSCRAMs(ctx, nil, upserts)
		if err != nil {
			return fmt.Errorf("create user %q: %w", args[0], err)
		}
		if err := alteredErr(altered); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Set the password of user %q for %s.\n", args[0], strings.Join(mechanismNames(mechs), ", "))
		return nil
	})
	return cmd
}

func newUsersListCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [USER...]",
		Short: "List SCRAM users and their mechanisms",
	}
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error {
		described, err := adm.DescribeUserSCRAMs(ctx, args...)
		if err != nil {
			return fmt.Errorf("describe users: %w", err)
		}
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "USER\tMECHANISM\tITERATIONS")
		var failed error
		for _, d := range described.Sorted() {
			if d.Err != nil {
				failed = errors.Join(failed, fmt.Errorf("user %q: %w", d.User, withBrokerMessage(d.Err, d.ErrMessage)))
				continue
			}
			for _, info := range d.CredInfos {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", d.User, info.Mechanism, info.Iterations)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return failed
	})
	return cmd
}

func newUsersDeleteCommand(cfg *clientConfig) *cobra.Command {
	var mechanisms []string
	cmd := &cobra.Command{
		Use:   "delete USER",
		Short: "Delete a SCRAM user's credentials (all mechanisms unless --mechanism)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().StringSliceVar(&mechanisms, "mechanism", nil, "only these SCRAM mechanisms")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error {
		mechs, err := parseScramMechanisms(mechanisms)
		if err != nil {
			return err
		}
		if len(mechs) == 0 {
			described, err := adm.DescribeUserSCRAMs(ctx, args[0])
			if err != nil {
				return fmt.Errorf("describe user %q: %w", args[0], err)
			}
			d := described[args[0]]
			if d.Err != nil {
				return fmt.Errorf("user %q: %w", args[0], withBrokerMessage(d.Err, d.ErrMessage))
			}
			for _, info := range d.CredInfos {
				mechs = append(mechs, info.Mechanism)
			}
		}
		var deletions []kadm.DeleteSCRAM
		for _, m := range mechs {
			deletions = append(deletions, kadm.DeleteSCRAM{User: args[0], Mechanism: m})
		}
		altered, err := adm.AlterUserSCRAMs(ctx, deletions, nil)
		if err != nil {
			return fmt.Errorf("delete user %q: %w", args[0], err)
		}
		if err := alteredErr(altered); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Deleted the %s credentials of user %q.\n", strings.Join(mechanismNames(mechs), ", "), args[0])
		return nil
	})
	return cmd
}

func alteredErr(altered kadm.AlteredUserSCRAMs) error {
	var failed error
	for _, a := range altered {
		if a.Err != nil {
			failed = errors.Join(failed, fmt.Errorf("user %q: %w", a.User, withBrokerMessage(a.Err, a.ErrMessage)))
		}
	}
	return failed
}

func mechanismNames(mechs []kadm.ScramMechanism) []string {
	out := make([]string, len(mechs))
	for i, m := range mechs {
		out[i] = m.String()
	}
	return out
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
