// Package server wires pixelpost's HTTP endpoints to the hit pipeline and
// the ledger: tracking endpoints (pixels), the admin and report API, health
// and metrics, and the process's ordered shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/hitindex"
	"github.com/pixelpost/pixelpost/storage/meta"
	"github.com/pixelpost/pixelpost/storage/outbox"
	"github.com/pixelpost/pixelpost/storage/pipeline"
)

// Deps are the collaborators a Server is built with.
type Deps struct {
	Ledger storage.Ledger // owned by the caller: the Server does not close it
	// ClickHouse, if set, receives raw hits and answers the reports that
	// read them; without it the Server keeps its own hit index
	// (storage/hitindex) in DataDir. Owned by the caller.
	ClickHouse *clickhouse.Client
	Log        zerolog.Logger
	// Now is the clock; nil means time.Now. Tests pin it.
	Now func() time.Time
}

// Server is one pixelpost node. New opens its write-ahead logs in
// DataDir/wal and starts applying hits; Serve answers requests; Close (or
// the end of Serve) drains and closes.
type Server struct {
	cfg        Config
	ledger     storage.Ledger
	clickhouse *clickhouse.Client
	pipeline   *pipeline.Pipeline
	shipper    *clickhouse.Shipper
	outbox     *outbox.Outbox
	meta       *meta.Forwarder
	accounts   *accountCache
	configs    *configCache
	rejected   *rejectionLog
	dashboard  map[string]dashboardFile
	limiter    *ipLimiter // nil: no rate limit
	metrics    *metrics
	log        zerolog.Logger
	errLog     zerolog.Logger // sampled: hot-path errors must not flood the log
	now        func() time.Time
	app        *fiber.App

	// trustedProxies are the peers whose X-Forwarded-For is believed (clientaddr.go).
	trustedProxies []netip.Prefix

	// reports answers the reports: ClickHouse, or index (the embedded
	// default's hit index, nil with ClickHouse).
	reports storage.Reports
	index   *hitindex.Index

	stop      context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// New builds a Server and starts its background work (the ledger applier,
// the ClickHouse shipper).
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
	if err := openDataDir(cfg.DataDir, deps.Log); err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:        cfg,
		ledger:     deps.Ledger,
		clickhouse: deps.ClickHouse,
		log:        deps.Log,
		errLog:     deps.Log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Second}),
		now:        now,
		accounts:   newAccountCache(deps.Ledger, now),
		configs:    newConfigCache(deps.Ledger, now),
		rejected:   newRejectionLog(),
		dashboard:  loadDashboard(),
		metrics:    newMetrics(),
	}
	s.trustedProxies = parseTrustedProxies(cfg.TrustedProxies)
	if cfg.RateLimit > 0 {
		s.limiter = newIPLimiter(cfg.RateLimit)
	}
	ob, err := outbox.Open(outbox.Config{Dir: cfg.OutboxDir(), AllowPrivateTargets: cfg.AllowPrivateTargets},
		outbox.Deps{Log: deps.Log})
	if err != nil {
		return nil, err
	}
	s.outbox = ob
	s.metrics.watchOutbox(ob)
	mf, err := meta.Open(meta.Config{Dir: cfg.MetaDir(), AllowPrivateTargets: cfg.AllowPrivateTargets},
		meta.Deps{Log: deps.Log, Now: now})
	if err != nil {
		ob.Close()
		return nil, err
	}
	s.meta = mf
	handoff := 0
	if deps.ClickHouse != nil {
		handoff = pipeline.DefaultHandoffRows // the shipper's way round the rows log
	}
	p, err := pipeline.Open(pipeline.Config{
		Dir:          cfg.WALDir(),
		MaxBytes:     cfg.WALMaxBytes,
		SyncInterval: cfg.WALSyncInterval,
		MaxBatch:     cfg.LedgerBatch,
		HandoffRows:  handoff,
	}, pipeline.Deps{Ledger: deps.Ledger, Log: deps.Log, OnDecided: s.decided, Resolve: s.resolve})
	if err != nil {
		ob.Close()
		mf.Close()
		return nil, err
	}
	s.pipeline = p
	s.metrics.watchPipeline(p)
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := p.Run(ctx, cfg.ShutdownTimeout); err != nil {
			s.log.Error().Err(err).Msg("ledger applier stopped")
		}
	}()
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		if err := ob.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Msg("outbox stopped")
		}
	}()
	go func() {
		defer s.bg.Done()
		if err := mf.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Msg("meta forwarder stopped")
		}
	}()
	if deps.ClickHouse != nil {
		s.shipper = clickhouse.NewShipper(clickhouse.ShipperConfig{Release: true,
			MaxBatch: cfg.ClickHouseBatchRows, MaxBatchBytes: int64(cfg.ClickHouseBatchMB) << 20, MaxDelay: cfg.ClickHouseBatchDelay},
			clickhouse.ShipperDeps{Log: p.Rows(), Client: deps.ClickHouse, Logger: deps.Log, Leave: s.erasedRows(ctx),
				Handoff: p.Handoff()})
		s.metrics.watchShipper(s.shipper)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := s.shipper.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error().Err(err).Msg("clickhouse shipper stopped")
			}
		}()
	}
	if deps.ClickHouse != nil {
		s.reports = deps.ClickHouse
	} else if err := s.startHitIndex(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.app = s.newApp()
	return s, nil
}

// startHitIndex opens the embedded default's hit index and follows the
// rows log into it: the reports without ClickHouse (docs/reports.md).
func (s *Server) startHitIndex(ctx context.Context) error {
	x, err := hitindex.Open(hitindex.Config{Path: s.cfg.HitIndexPath()})
	if err != nil {
		return err
	}
	s.index, s.reports = x, x
	x.Align(s.pipeline.Rows(), s.log) // before Settle relies on its position
	s.metrics.watchHitIndex(x, s.pipeline.Rows())
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		err := x.Follow(ctx, hitindex.FollowDeps{Log: s.pipeline.Rows(), Leave: s.erasedRows(ctx), Logger: s.log})
		if err != nil {
			s.log.Error().Err(err).Msg("hit index stopped")
		}
	}()
	return nil
}

// Settle waits until every hit recorded so far has been applied to the
// ledger and written to the rows log, and, on the embedded default,
// indexed for the reports (tests, benchmarks, tools).
func (s *Server) Settle(ctx context.Context) error {
	if err := s.pipeline.Sync(ctx); err != nil {
		return err
	}
	if s.index != nil {
		return s.index.WaitIndexed(ctx, s.pipeline.Rows().End())
	}
	return nil
}

// Handler exposes the Fiber app, for tests (app.Test).
func (s *Server) Handler() *fiber.App { return s.app }

// Run listens on cfg.Listen and serves until ctx is done, then shuts down in
// order: stop accepting, drain in-flight requests, apply the recorded hits
// to the ledger, flush rows to ClickHouse, close the logs.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.Close()
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
		s.Close()
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	s.log.Info().Msg("shutting down: draining requests")
	err := s.app.ShutdownWithTimeout(s.cfg.ShutdownTimeout)
	<-errc
	s.Close()
	if err != nil {
		return fmt.Errorf("cannot drain requests within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	s.log.Info().Msg("shutdown complete")
	return nil
}

// Close stops the background work after it drained (bounded by the
// shutdown timeout) and closes the logs. Hits not yet applied or shipped
// stay in the logs for the next start. Close is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.bg.Wait()
		if err := s.pipeline.Close(); err != nil {
			s.log.Error().Err(err).Msg("cannot close write-ahead logs")
		}
		if err := s.outbox.Close(); err != nil {
			s.log.Error().Err(err).Msg("cannot close the outbox")
		}
		if err := s.meta.Close(); err != nil {
			s.log.Error().Err(err).Msg("cannot close the meta forwarder")
		}
		if s.index != nil {
			if err := s.index.Close(); err != nil {
				s.log.Error().Err(err).Msg("cannot close the hit index")
			}
		}
	})
}
