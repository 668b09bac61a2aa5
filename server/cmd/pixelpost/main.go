// Command pixelpost runs the conversion tracking server, and its
// maintenance commands:
//
//	pixelpost [flags]                    serve
//	pixelpost import-wal [flags]         load the embedded rows log into ClickHouse
//	pixelpost reconcile [--repair] [--source wal|clickhouse] [flags]
//	pixelpost clickhouse-ddl --cluster NAME [--replicated] [flags]
//	                                     print the DDL of a ClickHouse cluster
//	pixelpost clickhouse-repartition [flags]
//	                                     partition a hits table of an older release by day
//	pixelpost migrate-ledger [flags]     convert a Redis ledger of an earlier build (every node stopped)
//	pixelpost healthcheck [url]          exit 0 if url (default local /readyz) answers 200
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

func main() {
	err := run(os.Args[1:])
	var dirty errDifferences
	if errors.As(err, &dirty) {
		fmt.Fprintln(os.Stderr, "pixelpost:", err)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pixelpost:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "healthcheck":
		return healthcheck(args)
	case "import-wal", "reconcile", "clickhouse-ddl", "clickhouse-repartition", "migrate-ledger", "":
	default:
		return fmt.Errorf("unknown command %q (serve, import-wal, reconcile, clickhouse-ddl, clickhouse-repartition, migrate-ledger, healthcheck)", cmd)
	}
	var opts reconcileOptions
	var ddl ddlOptions
	var err error
	switch cmd {
	case "reconcile":
		args, err = opts.parse(args)
	case "clickhouse-ddl":
		args, err = ddl.parse(args)
	}
	if err != nil {
		return err
	}
	cfg, err := server.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	if cmd == "clickhouse-ddl" {
		return clickhouseDDL(os.Stdout, os.Stderr, cfg, ddl)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit makes the GC work harder before the heap outgrows
		// it: RSS stays near SPEC §7's 256 MiB through bursts and outages.
		// GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	zerolog.TimeFieldFormat = time.RFC3339Nano
	log := zerolog.New(os.Stdout).Level(level).With().Timestamp().Logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "import-wal":
		return importWAL(ctx, cfg)
	case "reconcile":
		return reconcileCmd(ctx, cfg, opts, log)
	case "clickhouse-repartition":
		return clickhouseRepartition(ctx, os.Stdout, cfg)
	case "migrate-ledger":
		return migrateLedger(ctx, os.Stdout, cfg)
	}
	return serve(ctx, cfg, log)
}

// defaultMemoryLimit is the Go runtime's soft memory limit: 160 MiB of heap
// and runtime leave room under 256 MiB for the pages of files mapped in
// memory (the binary, bbolt's outbox and meta files: up to 122 MiB
// measured after bursts of outbound postbacks), which RSS counts too.
const defaultMemoryLimit = 160 << 20

func serve(ctx context.Context, cfg server.Config, log zerolog.Logger) error {
	generated, err := server.LoadAdminToken(&cfg)
	if err != nil {
		return err
	}
	if generated {
		log.Info().Str("file", cfg.AdminTokenFile()).Msg("generated an admin token (read it from this file)")
	}
	ledger, err := server.OpenLedger(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer ledger.Close()
	deps := server.Deps{Ledger: ledger, Log: log}
	if cfg.ClickHouseDSN != "" {
		// ClickHouse may be down at start-up: hits wait in the rows log, so
		// only a bad DSN or schema stops the server.
		ch, err := openClickHouse(ctx, cfg)
		if err != nil {
			return err
		}
		defer ch.Close()
		if ch.RepartitionPending() {
			log.Warn().Msg("clickhouse table hits is partitioned by month (an older release) and too large to repartition at start-up: " +
				"it works as it is; run pixelpost clickhouse-repartition to partition it by day")
		}
		deps.ClickHouse = ch
	}
	if cfg.PprofListen != "" {
		go func() {
			// http.DefaultServeMux carries net/http/pprof's handlers.
			err := http.ListenAndServe(cfg.PprofListen, nil)
			log.Error().Err(err).Msg("pprof listener stopped")
		}()
	}
	srv, err := server.New(cfg, deps)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// openClickHouse connects to the hits table of cfg: on one server (created
// and migrated) or the Distributed table of --clickhouse-cluster.
func openClickHouse(ctx context.Context, cfg server.Config) (*clickhouse.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ch, err := clickhouse.Connect(cctx, clickhouse.Config{DSN: cfg.ClickHouseDSN, Cluster: cfg.ClickHouseCluster})
	if err != nil {
		return nil, fmt.Errorf("cannot open clickhouse: %w", err)
	}
	return ch, nil
}

// healthcheck GETs a URL (default the local /readyz) and fails unless it
// answers 200: container health checks on images without curl.
func healthcheck(args []string) error {
	url := "http://127.0.0.1:8080/readyz"
	if len(args) > 0 {
		url = args[0]
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
