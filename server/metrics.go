package server

import (
	"fmt"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/gofiber/fiber/v2"
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
