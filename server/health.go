package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process serves requests.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz says whether this node can take traffic without risk: its ledger
// answers, its write-ahead logs have room, ClickHouse takes rows. A node
// that is not ready still records hits while it can; the answer tells the
// load balancer and the operator what is degraded.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	checks := fiber.Map{"ledger": "ok", "wal": "ok"}
	ready := true
	fail := func(name, msg string) { checks[name], ready = msg, false }
	if err := s.ledger.Ping(ctx); err != nil {
		fail("ledger", err.Error())
	}
	st := s.pipeline.Stats()
	switch {
	case st.Hits.Full:
		fail("wal", "hits log full: new hits cannot be recorded")
	case st.Rows.Full:
		fail("wal", "rows log full: ClickHouse is behind; hits wait for the ledger")
	case st.LedgerDown:
		fail("wal", "hits queued on disk while the ledger is unavailable")
	}
	var lag uint64
	if s.shipper != nil {
		checks["clickhouse"] = "ok"
		sh := s.shipper.Stats()
		if sh.Down {
			fail("clickhouse", "unavailable, rows wait in the rows log: "+sh.LastError)
		}
		lag = sh.Lag
	}
	status := fiber.StatusOK
	if !ready {
		status = fiber.StatusServiceUnavailable
	}
	return c.Status(status).JSON(fiber.Map{"ready": ready, "checks": checks,
		"ledger_backlog_bytes": st.Backlog, "clickhouse_lag_bytes": lag, "wal_bytes": st.Hits.Bytes + st.Rows.Bytes})
}
