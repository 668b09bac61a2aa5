// Package server wires pixelpost's HTTP endpoints to the ledger: tracking
// endpoints (pixels), the admin and report API, health and metrics.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
)

// Deps are the collaborators a Server is built with.
type Deps struct {
	Ledger storage.Ledger // owned by the caller: the Server does not close it
	Log    zerolog.Logger
	// Now is the clock; nil means time.Now. Tests pin it.
	Now func() time.Time
}

// Server is one pixelpost node.
type Server struct {
	cfg      Config
	ledger   storage.Ledger
	batcher  *storage.Batcher
	accounts *accountCache
	rejected *rejectionLog
	metrics  *metrics
	log      zerolog.Logger
	now      func() time.Time
	app      *fiber.App
}

// New builds a Server; Run serves it.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Ledger == nil {
		return nil, errors.New("server: a ledger is required")
	}
	if cfg.AdminToken == "" {
		return nil, errors.New("server: an admin token is required (see LoadAdminToken)")
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:      cfg,
		ledger:   deps.Ledger,
		log:      deps.Log,
		now:      now,
		accounts: newAccountCache(deps.Ledger, now),
		rejected: newRejectionLog(100),
		metrics:  newMetrics(),
	}
	s.batcher = storage.NewBatcher(deps.Ledger, storage.BatcherConfig{
		Workers:  cfg.LedgerWorkers,
		MaxBatch: cfg.LedgerBatch,
	})
	s.app = s.newApp()
	return s, nil
}

// Handler exposes the Fiber app, for tests (app.Test).
func (s *Server) Handler() *fiber.App { return s.app }

// Run listens on cfg.Listen and serves until ctx is done, then shuts down in
// order: stop accepting, drain in-flight requests, flush the ledger batcher.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info().Str("addr", ln.Addr().String()).Msg("pixelpost listening")
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		s.batcher.Close()
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	s.log.Info().Msg("shutting down: draining requests")
	err := s.app.ShutdownWithTimeout(s.cfg.ShutdownTimeout)
	<-errc
	s.batcher.Close()
	if err != nil {
		return fmt.Errorf("cannot drain requests within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	s.log.Info().Msg("shutdown complete")
	return nil
}

// Close releases what New started when the Server is never served.
func (s *Server) Close() { s.batcher.Close() }
