package server

import (
	"fmt"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/hitindex"
	"github.com/pixelpost/pixelpost/storage/outbox"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// metrics are this server's Prometheus series. Hot paths count here instead
// of logging.
type metrics struct {
	set  *vm.Set
	mu   sync.RWMutex
	hits map[hitLabels]*vm.Counter
	// panics counts handler panics answered by recoverPanics.
	panics *vm.Counter
}

type hitLabels struct{ kind, status, reason string }

func newMetrics() *metrics {
	set := vm.NewSet()
	return &metrics{set: set, hits: make(map[hitLabels]*vm.Counter),
		panics: set.NewCounter("pixelpost_handler_panics_total")}
}

// hit counts one tracking hit by kind, status and reason. Label values come
// from fixed code sets, never from request data, so the series stay few.
func (m *metrics) hit(kind, status, reason string) {
	l := hitLabels{kind, status, reason}
	m.mu.RLock()
	c := m.hits[l]
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if c = m.hits[l]; c == nil {
			c = m.set.NewCounter(fmt.Sprintf(`pixelpost_hits_total{kind=%q,status=%q,reason=%q}`, kind, status, reason))
			m.hits[l] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// count returns a hit counter's value, for tests.
func (m *metrics) count(kind, status, reason string) uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c := m.hits[hitLabels{kind, status, reason}]; c != nil {
		return c.Get()
	}
	return 0
}

func (s *Server) metricsHandler(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4")
	s.metrics.set.WritePrometheus(c)
	vm.WriteProcessMetrics(c)
	return nil
}

// watchPipeline exports the write-ahead logs and the ledger applier: the
// loud metrics of SPEC §4 (a growing backlog, a log at its cap, lost hits).
func (m *metrics) watchPipeline(p *pipeline.Pipeline) {
	g := func(name string, f func(pipeline.Stats) float64) {
		m.set.NewGauge(name, func() float64 { return f(p.Stats()) })
	}
	g("pixelpost_wal_bytes{log=\"hits\"}", func(s pipeline.Stats) float64 { return float64(s.Hits.Bytes) })
	g("pixelpost_wal_bytes{log=\"rows\"}", func(s pipeline.Stats) float64 { return float64(s.Rows.Bytes) })
	g("pixelpost_wal_full{log=\"hits\"}", func(s pipeline.Stats) float64 { return boolGauge(s.Hits.Full) })
	g("pixelpost_wal_full{log=\"rows\"}", func(s pipeline.Stats) float64 { return boolGauge(s.Rows.Full) })
	g("pixelpost_wal_fsyncs_total{log=\"hits\"}", func(s pipeline.Stats) float64 { return float64(s.Hits.Fsyncs) })
	g("pixelpost_wal_records_total{log=\"hits\"}", func(s pipeline.Stats) float64 { return float64(s.Hits.Records) })
	g("pixelpost_ledger_backlog_bytes", func(s pipeline.Stats) float64 { return float64(s.Backlog) })
	g("pixelpost_ledger_down", func(s pipeline.Stats) float64 { return boolGauge(s.LedgerDown) })
	g("pixelpost_ledger_applied_total", func(s pipeline.Stats) float64 { return float64(s.Applied) })
	g("pixelpost_wal_bad_records_total", func(s pipeline.Stats) float64 { return float64(s.BadRecords) })
	// Hits answered once written (browser image loads) or once synced.
	g("pixelpost_hits_acknowledged_total{when=\"written\"}", func(s pipeline.Stats) float64 { return float64(s.Hits.Written) })
	g("pixelpost_hits_acknowledged_total{when=\"synced\"}", func(s pipeline.Stats) float64 { return float64(s.Hits.Appends - s.Hits.Written) })
	g("pixelpost_hits_lost_total", func(s pipeline.Stats) float64 { return float64(s.AppendFails) })
}

// watchShipper exports the ClickHouse shipper.
func (m *metrics) watchShipper(sh *clickhouse.Shipper) {
	m.set.NewGauge("pixelpost_clickhouse_shipped_total", func() float64 { return float64(sh.Stats().Shipped) })
	m.set.NewGauge("pixelpost_clickhouse_lag", func() float64 { return float64(sh.Stats().Lag) })
	m.set.NewGauge("pixelpost_clickhouse_down", func() float64 { return boolGauge(sh.Stats().Down) })
	// Rows the shipper took from the applier's memory, and read (and
	// decoded) from the rows log: behind, after a restart or a failure.
	m.set.NewGauge("pixelpost_clickhouse_rows_total{from=\"memory\"}", func() float64 { return float64(sh.Stats().FromMemory) })
	m.set.NewGauge("pixelpost_clickhouse_rows_total{from=\"log\"}", func() float64 { return float64(sh.Stats().FromLog) })
}

// watchHitIndex exports the embedded default's hit index: rows indexed,
// and the bytes of the rows log not indexed yet (how far the reports lag).
func (m *metrics) watchHitIndex(x *hitindex.Index, rows *wal.Log) {
	m.set.NewGauge("pixelpost_hitindex_rows_total", func() float64 { return float64(x.Stats().Rows) })
	m.set.NewGauge("pixelpost_hitindex_lag_bytes", func() float64 {
		if end, pos := rows.End(), x.Pos(); end > pos {
			return float64(end - pos)
		}
		return 0
	})
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// watchOutbox exports the outbound deliveries.
func (m *metrics) watchOutbox(o *outbox.Outbox) {
	m.set.NewGauge("pixelpost_outbox_pending", func() float64 { return float64(o.Stats().Pending) })
	m.set.NewGauge("pixelpost_outbox_failed", func() float64 { return float64(o.Stats().Failed) })
	m.set.NewGauge("pixelpost_outbox_delivered_total", func() float64 { return float64(o.Stats().Delivered) })
	m.set.NewGauge("pixelpost_outbox_attempts_total", func() float64 { return float64(o.Stats().Attempts) })
}
