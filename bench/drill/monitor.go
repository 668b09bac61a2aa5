package drill

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// sample is what one node's /readyz said at one poll.
type sample struct {
	up      bool // it answered
	status  string
	backlog uint64 // ledger backlog, bytes
	lag     uint64 // ClickHouse lag, bytes
	lost    uint64 // hits it could not record since it started
}

// round is one poll of every node.
type round struct {
	at    time.Time
	nodes map[string]sample
}

// monitor polls every node's /readyz: the figures of the fault table.
type monitor struct {
	nodes  []*node
	client *http.Client

	mu     sync.Mutex
	rounds []round
}

const pollEvery = 250 * time.Millisecond

func newMonitor(nodes []*node) *monitor {
	return &monitor{nodes: nodes, client: &http.Client{Timeout: 3 * time.Second}}
}

func (m *monitor) run(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		m.poll()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *monitor) poll() round {
	r := round{at: time.Now(), nodes: make(map[string]sample, len(m.nodes))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range m.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.readyz(n)
			mu.Lock()
			r.nodes[n.name] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	m.mu.Lock()
	m.rounds = append(m.rounds, r)
	m.mu.Unlock()
	return r
}

func (m *monitor) readyz(n *node) sample {
	resp, err := m.client.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return sample{}
	}
	defer resp.Body.Close()
	var v struct {
		Status  string `json:"status"`
		Backlog uint64 `json:"ledger_backlog_bytes"`
		Lag     uint64 `json:"clickhouse_lag_bytes"`
		Lost    uint64 `json:"hits_lost"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return sample{}
	}
	return sample{up: true, status: v.Status, backlog: v.Backlog, lag: v.Lag, lost: v.Lost}
}

// latest is the last poll.
func (m *monitor) latest() round {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rounds) == 0 {
		return round{}
	}
	return m.rounds[len(m.rounds)-1]
}

// lagRecovered: a node whose ClickHouse lag is under this ships as usual
// (the shipper sends about a second of rows at a time).
const lagRecovered = 256 << 10

// recovered reports whether s is a node back to normal: ready, rows
// shipped.
func (s sample) recovered() bool {
	return s.up && s.status == "ready" && s.lag < lagRecovered
}

// after returns the polls from t on.
func (m *monitor) after(t time.Time) []round {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range m.rounds {
		if !r.at.Before(t) {
			return append([]round(nil), m.rounds[i:]...)
		}
	}
	return nil
}

// waitRecovered waits until a poll after t finds every named node
// recovered, and returns that poll's time.
func (m *monitor) waitRecovered(t time.Time, names []string, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := waitFor("nodes "+joinNames(names)+" to be ready with nothing queued", timeout, func() bool {
		for _, r := range m.after(t) {
			ok := true
			for _, n := range names {
				if !r.nodes[n].recovered() {
					ok = false
					break
				}
			}
			if ok {
				at = r.at
				return true
			}
		}
		return false
	})
	return at, err
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
