package server

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
)

// flushWait is how long POST /api/v1/flush waits by default; a caller may
// ask for less or more (?wait=), up to maxFlushWait.
const (
	flushWait    = 30 * time.Second
	maxFlushWait = 5 * time.Minute
)

// flush waits until every hit recorded before the call is applied to the
// ledger, its row written, and that row in the reports' store: shipped to
// ClickHouse (the batch being filled is sent at once, without waiting for
// --clickhouse-batch-delay) or indexed on the embedded default. It returns
// ctx's error when that does not happen in time.
func (s *Server) flush(ctx context.Context) error {
	if err := s.Settle(ctx); err != nil {
		return err
	}
	if s.shipper != nil {
		return s.shipper.WaitShipped(ctx, s.pipeline.Rows().End())
	}
	return nil
}

// flushView is the answer of POST /api/v1/flush.
type flushView struct {
	// Store is where the rows went: "clickhouse", or "index" on the
	// embedded default.
	Store string `json:"store"`
	// RowsShipped are the rows inserted into ClickHouse during the call
	// (the hurried batch and any others); 0 on the embedded default.
	RowsShipped uint64  `json:"rows_shipped"`
	WaitedS     float64 `json:"waited_s"`
}

// flushHits answers POST /api/v1/flush: once every hit recorded before the
// call is in the ledger and in the reports (README "API"). Useful after an
// import, and for benchmarks that time the whole pipeline. A flush that
// does not finish within ?wait= (default 30s) answers 504; nothing is lost,
// the hits are still on their way.
func (s *Server) flushHits(c *fiber.Ctx) error {
	wait := flushWait
	if v := c.Query("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxFlushWait {
			return errBadRequest("bad_wait", "wait must be a duration within 0s..5m, such as 30s")
		}
		wait = d
	}
	v := flushView{Store: "index"}
	var shipped0 uint64
	if s.shipper != nil {
		v.Store = "clickhouse"
		shipped0 = s.shipper.Stats().Shipped
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := s.flush(ctx)
	if s.shipper != nil {
		v.RowsShipped = s.shipper.Stats().Shipped - shipped0
	}
	v.WaitedS = time.Since(start).Seconds()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg := "hits recorded before the call are not all applied and shipped after " + wait.String()
		if s.shipper != nil {
			if last := s.shipper.Stats().LastError; last != "" {
				msg += " (clickhouse: " + last + ")"
			}
		}
		return &apiError{fiber.StatusGatewayTimeout, "flush_timeout", msg + ": they are still on their way; call again"}
	case err != nil:
		return err
	}
	return c.JSON(v)
}
