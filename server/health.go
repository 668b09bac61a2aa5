package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process serves requests.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// Readiness, as /readyz's "status" says it.
const (
	statusReady = "ready"
	// statusDegraded: every hit answered is still recorded, but some wait
	// on disk (the ledger is down, or the node is catching up after a
	// pile-up) or ClickHouse is behind. The node keeps taking traffic: if
	// the ledger is down for one node it is down for all, and hits on disk
	// are safe.
	statusDegraded = "degraded"
	// statusUnavailable: the node cannot record new hits (its hits log is
	// at its cap): send traffic elsewhere until it drained.
	statusUnavailable = "unavailable"
)

// readyz says whether this node can take traffic without risk and what is
// degraded: 200 while it records every hit it answers ("ready" or
// "degraded"), 503 when it cannot ("unavailable"). A node that is not
// ready still answers and records hits while it can.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	checks := fiber.Map{"ledger": "ok", "wal": "ok"}
	status := statusReady
	degrade := func(name, msg string) {
		checks[name] = msg
		if status == statusReady {
			status = statusDegraded
		}
	}
	if err := s.ledger.Ping(ctx); err != nil {
		degrade("ledger", err.Error())
	}
	st := s.pipeline.Stats()
	switch {
	case st.Hits.Full:
		checks["wal"], status = "hits log full: new hits cannot be recorded", statusUnavailable
	case st.Rows.Full:
		degrade("wal", "rows log full: ClickHouse is behind; hits wait for the ledger")
	case st.LedgerDown:
		degrade("wal", "hits queued on disk while the ledger is unavailable")
	case st.Draining:
		degrade("wal", fmt.Sprintf("catching up: %d bytes of queued hits", st.Backlog))
	}
	var lag uint64
	if s.shipper != nil {
		checks["clickhouse"] = "ok"
		sh := s.shipper.Stats()
		if sh.Down {
			degrade("clickhouse", "unavailable, rows wait in the rows log: "+sh.LastError)
		}
		lag = sh.Lag
	}
	code := fiber.StatusOK
	if status == statusUnavailable {
		code = fiber.StatusServiceUnavailable
	}
	return c.Status(code).JSON(fiber.Map{"ready": status == statusReady, "status": status, "checks": checks,
		"ledger_backlog_bytes": st.Backlog, "clickhouse_lag_bytes": lag, "wal_bytes": st.Hits.Bytes + st.Rows.Bytes,
		"hits_lost": st.AppendFails})
}
