// Command pixelpost runs the conversion tracking server.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/server"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pixelpost:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(args[1:])
	}
	cfg, err := server.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	zerolog.TimeFieldFormat = time.RFC3339Nano
	log := zerolog.New(os.Stdout).Level(level).With().Timestamp().Logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

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
	srv, err := server.New(cfg, server.Deps{Ledger: ledger, Log: log})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
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
