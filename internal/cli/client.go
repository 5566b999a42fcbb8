// Package cli holds the subcommands of the samsa binary. The client
// subcommands (topic, produce, consume, cluster) talk to any Kafka-compatible
// broker over the wire with franz-go kgo and kadm.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errInterrupted reports that the user stopped a command (SIGINT or SIGTERM)
// before it finished its work.
var errInterrupted = errors.New("interrupted")

// Exit codes returned by Execute.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// defaultBootstrap is used when neither -b nor SAMSA_BOOTSTRAP is given.
const defaultBootstrap = "127.0.0.1:9092"

// usageError marks an error in the command line itself (bad flag, bad
// argument), as opposed to a failure talking to the broker.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// clientConfig holds the connection flags shared by every client subcommand.
type clientConfig struct {
	bootstrap string        // comma-separated seed brokers
	clientID  string        // client.id sent with every request
	timeout   time.Duration // dial timeout, per-request read timeout, and admin command deadline

	commandConfig string   // client properties file (security settings)
	properties    []string // -X key=value client properties, over commandConfig
}

// AddCommands adds the client subcommands (topic, produce, consume, cluster)
// to root, and the persistent flags -b/--bootstrap-server, --client-id and
// --timeout they share. It sets SilenceUsage and SilenceErrors on root: run
// root with Execute, which prints failures as one line.
func AddCommands(root *cobra.Command) {
	cfg := &clientConfig{}
	bootstrap := os.Getenv("SAMSA_BOOTSTRAP")
	if bootstrap == "" {
		bootstrap = defaultBootstrap
	}
	flags := root.PersistentFlags()
	flags.StringVarP(&cfg.bootstrap, "bootstrap-server", "b", bootstrap,
		"comma-separated broker addresses (env SAMSA_BOOTSTRAP)")
	flags.StringVar(&cfg.clientID, "client-id", "samsa", "client.id sent to the broker")
	flags.DurationVar(&cfg.timeout, "timeout", 10*time.Second,
		"how long to wait to connect and for each admin command")
	flags.StringVar(&cfg.commandConfig, "command-config", "",
		"client properties file with security settings (security.protocol, sasl.*, ssl.*), as Kafka's tools take")
	flags.StringArrayVarP(&cfg.properties, "property", "X", nil,
		"a client property key=value, over --command-config (repeatable), e.g. -X security.protocol=SASL_SSL")

	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		newTopicCommand(cfg),
		newProduceCommand(cfg),
		newConsumeCommand(cfg),
		newClusterCommand(cfg),
		newBenchCommand(cfg),
		newGroupCommand(cfg),
		newUsersCommand(cfg),
		newACLCommand(cfg),
		newQuotasCommand(cfg),
		newTokensCommand(cfg),
	)
}

// Execute runs root until it finishes or the user interrupts it, prints any
// error as one line on stderr prefixed with the command name, and returns the
// process exit code: 0 on success, 2 for a bad command line, 130 when
// interrupted, 1 otherwise.
func Execute(root *cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal restore the default handling, so a second
	// Ctrl-C kills a command stuck in a read it cannot abandon.
	go func() {
		<-ctx.Done()
		stop()
	}()

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(root.ErrOrStderr(), "%s: %s\n", root.Name(), oneLine(err.Error()))
	var usage usageError
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	default:
		return exitFailure
	}
}

// oneLine folds a multi-line message (errors.Join) onto one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

// run adapts a command body to cobra's RunE, turning low-level client errors
// into messages that say what went wrong in the user's terms.
func (c *clientConfig) run(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return c.explain(body(cmd, args))
	}
}

// explain rewrites errors whose raw text would puzzle a user.
func (c *clientConfig) explain(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from %s within %s (is a broker running there?): %w", c.bootstrap, c.timeout, err)
	}
	var shards *kadm.ShardErrors
	if errors.As(err, &shards) && len(shards.Errs) > 0 {
		first := shards.Errs[0]
		if first.Broker.NodeID >= 0 {
			return fmt.Errorf("%s to broker %d: %w", shards.Name, first.Broker.NodeID, first.Err)
		}
		return fmt.Errorf("%s: %w", shards.Name, first.Err)
	}
	return err
}

// seeds splits the bootstrap flag into broker addresses.
func (c *clientConfig) seeds() []string {
	var seeds []string
	for _, s := range strings.Split(c.bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	return seeds
}

// newClient builds a kgo client for the configured brokers; extra holds the
// producer or consumer options of the calling command.
func (c *clientConfig) newClient(extra ...kgo.Opt) (*kgo.Client, error) {
	seeds := c.seeds()
	if len(seeds) == 0 {
		return nil, usageErrorf("no broker address: set -b/--bootstrap-server or SAMSA_BOOTSTRAP")
	}
	if c.timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, got %s", c.timeout)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.DialTimeout(c.timeout),
		// Bounds how long a connected but silent broker can stall a request.
		kgo.RequestTimeoutOverhead(c.timeout),
		kgo.RetryTimeout(c.timeout),
	}
	if c.clientID != "" {
		opts = append(opts, kgo.ClientID(c.clientID))
	}
	secure, err := c.securityOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, secure...)
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, usageError{fmt.Errorf("client options: %w", err)}
	}
	return cl, nil
}

// newAdmin builds an admin client; close it with Close when done.
func (c *clientConfig) newAdmin() (*kadm.Client, error) {
	cl, err := c.newClient()
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(c.timeout, time.Hour).Milliseconds()))
	return adm, nil
}

// deadline bounds one admin command by the --timeout flag.
func (c *clientConfig) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// openAdmin builds an admin client and bounds ctx by the --timeout flag for
// one admin command; call done when the command ends.
func (c *clientConfig) openAdmin(ctx context.Context) (adm *kadm.Client, bounded context.Context, done func(), err error) {
	adm, err = c.newAdmin()
	if err != nil {
		return nil, nil, nil, err
	}
	bounded, cancel := c.deadline(ctx)
	return adm, bounded, func() {
		cancel()
		adm.Close()
	}, nil
}

// runAdmin is run for a command body that starts by opening an admin
// client; ctx is bounded by the --timeout flag.
func (c *clientConfig) runAdmin(body func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return c.run(func(cmd *cobra.Command, args []string) error {
		adm, ctx, done, err := c.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		return body(ctx, adm, cmd, args)
	})
}

// uniqueSorted sorts names and drops repeats, so each is asked about and
// reported once, in a stable order.
func uniqueSorted(names []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(names)))
}

// topicError names the topic an error is about.
func topicError(topic string, err error) error {
	return fmt.Errorf("topic %q: %w", topic, err)
}

// withBrokerMessage appends the free-text message a broker may send next to
// an error code, when it adds something.
func withBrokerMessage(err error, message string) error {
	if err == nil || message == "" || strings.Contains(err.Error(), message) {
		return err
	}
	return fmt.Errorf("%w (%s)", err, message)
}

// exactArgs and minArgs replace cobra's validators so that a wrong argument
// count is reported as a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("expected %s", what)
		}
		return nil
	}
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}

// runWithClient runs body with a client of the configured brokers, bounded by
// --timeout.
func (c *clientConfig) runWithClient(body func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error) func(*cobra.Command, []string) error {
	return c.run(func(cmd *cobra.Command, _ []string) error {
		cl, err := c.newClient()
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := c.deadline(cmd.Context())
		defer cancel()
		return body(ctx, cl, cmd)
	})
}
