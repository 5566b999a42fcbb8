package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/samsa-broker/samsa/internal/broker"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/logging"
)

type serveFlags struct {
	dataDir   string
	listen    string
	advertise string
	fsync     string
	config    string
	sets      []string
	logLevel  string
	pprof     string
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a broker",
		Long: "Run a Samsa broker. Settings use Kafka's names: --config reads a Kafka\n" +
			"server.properties file as it is and --set NAME=VALUE sets any one setting.\n" +
			"Flags win over --set, which wins over --config.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory (Kafka: log.dirs; default ./samsa-data)")
	fl.StringVar(&f.listen, "listen", "", "HOST:PORT of a single PLAINTEXT listener (default 127.0.0.1:9092)")
	fl.StringVar(&f.advertise, "advertise", "", "HOST:PORT clients are told to connect to (Kafka: advertised.listeners)")
	fl.StringVar(&f.fsync, "fsync", "", "when appended data is fsynced: never, interval or always (default interval)")
	fl.StringVar(&f.config, "config", "", "a Kafka server.properties file")
	fl.StringArrayVar(&f.sets, "set", nil, "NAME=VALUE of a Kafka broker or topic-default setting (repeatable)")
	fl.StringVar(&f.logLevel, "log-level", "info", "trace, debug, info, warn, error or off (changeable at runtime as BROKER_LOGGER configs)")
	fl.StringVar(&f.pprof, "pprof", "", "HOST:PORT to serve Go profiles on (/debug/pprof/), off by default")
	return cmd
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	level, err := logging.ParseLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	levels := logging.NewLevels(level)
	logger := slog.New(levels.Handler(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: logging.LevelTrace})))

	props := map[string]string{}
	if f.config != "" {
		file, err := os.Open(f.config)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		props, err = config.ParseProperties(file)
		file.Close()
		if err != nil {
			return fmt.Errorf("--config %s: %w", f.config, err)
		}
	}
	for _, s := range f.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("--set %q: want NAME=VALUE", s)
		}
		props[strings.TrimSpace(k)] = v
	}
	if f.dataDir != "" {
		props["log.dirs"] = f.dataDir
	}
	if f.listen != "" {
		if _, _, err := net.SplitHostPort(f.listen); err != nil {
			return fmt.Errorf("--listen %q: %w", f.listen, err)
		}
		props["listeners"] = "PLAINTEXT://" + f.listen
		delete(props, "listener.security.protocol.map")
	}
	if f.advertise != "" {
		if _, _, err := net.SplitHostPort(f.advertise); err != nil {
			return fmt.Errorf("--advertise %q: %w", f.advertise, err)
		}
		props["advertised.listeners"] = "PLAINTEXT://" + f.advertise
	}
	if f.fsync != "" {
		props["samsa.fsync"] = f.fsync
	}
	cfg, warnings, err := config.NewBroker(props)
	if err != nil {
		return err
	}
	if cfg.SysmonAwake() && runtime.GOOS == "linux" {
		keepSysmonAwake(logger) // returns only in the re-executed process (or on failure)
	}
	for _, w := range warnings {
		logger.Warn("config", "warning", w.String())
	}

	b, err := broker.New(broker.Options{Config: cfg, Logger: logger, Levels: levels})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if f.pprof != "" {
		stopProfiles, err := serveProfiles(f.pprof, logger)
		if err != nil {
			_ = b.Shutdown(context.Background())
			return err
		}
		defer stopProfiles()
	}
	if err := b.Start(ctx); err != nil {
		_ = b.Shutdown(context.Background())
		return err
	}
	logger.Info("samsa started", "data_dir", cfg.DataDir(), "fsync", string(cfg.Fsync()),
		"go_sysmon_awake", strings.Contains(os.Getenv("GODEBUG"), "schedtrace="))
	<-ctx.Done()
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.Shutdown(shutdownCtx)
}
