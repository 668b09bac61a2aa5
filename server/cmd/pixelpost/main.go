// Command pixelpost runs the conversion tracking server.
package main

import (
	"context"
	"fmt"
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
