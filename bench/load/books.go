package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// Books says where to read a pixelpost's books.
type Books struct {
	Base       string // http://host:port of pixelpost
	AdminToken string
	Account    string
	ClickHouse *clickhouse.Client // nil: rows are not checked
	// Settle bounds the wait for the ledger and the shipper to catch up.
	Settle time.Duration
}

// Check is CheckRuns of one drive.
func (b Books) Check(ctx context.Context, n int) (string, error) {
	return b.CheckRuns(ctx, []int{n})
}

// CheckRuns waits until pixelpost has applied and shipped every hit, then
// compares: rows in ClickHouse = hits answered (the sum of runs, each the
// number of requests of one drive with its own run id), and each webinar's
// sales and revenue = those the mix implies. It returns a report and
// ErrUnbalanced when anything differs.
func (b Books) CheckRuns(ctx context.Context, runs []int) (string, error) {
	n := 0
	expected := map[string]Totals{}
	for _, r := range runs {
		n += r
		for w, t := range Expected(r) {
			e := expected[w]
			e.Sales, e.Revenue = e.Sales+t.Sales, e.Revenue+t.Revenue
			expected[w] = e
		}
	}
	var report strings.Builder
	if err := b.settle(ctx); err != nil {
		return "", err
	}
	ok := true
	if b.ClickHouse != nil {
		rows := 0
		byStatus := map[string]int{}
		err := b.ClickHouse.Rows(ctx, b.Account, func(h storage.Hit) error {
			rows++
			byStatus[string(h.Status)]++
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("cannot count rows: %w", err)
		}
		fmt.Fprintf(&report, "clickhouse rows %d, hits answered %d %v", rows, n, byStatus)
		if rows != n {
			ok = false
			fmt.Fprintf(&report, "  MISMATCH (%+d)", rows-n)
		}
		report.WriteString("\n")
	}
	for _, w := range slices.Sorted(maps.Keys(expected)) {
		want := expected[w]
		var st struct {
			Sales   int64             `json:"sales"`
			Revenue map[string]string `json:"revenue"`
		}
		if err := b.get(ctx, "/api/v1/accounts/"+b.Account+"/webinars/"+w+"/stats", &st); err != nil {
			return "", err
		}
		rev, err := attribution.ParseAmount(st.Revenue["USD"], "USD")
		if st.Revenue["USD"] == "" {
			rev, err = 0, nil
		}
		if err != nil {
			return "", fmt.Errorf("webinar %s revenue %q: %w", w, st.Revenue["USD"], err)
		}
		fmt.Fprintf(&report, "ledger %s: %d sales, %s USD; expected %d, %s",
			w, st.Sales, attribution.FormatAmount(rev, "USD"), want.Sales, attribution.FormatAmount(attribution.Micros(want.Revenue), "USD"))
		if st.Sales != want.Sales || int64(rev) != want.Revenue {
			ok = false
			report.WriteString("  MISMATCH")
		}
		report.WriteString("\n")
	}
	if !ok {
		return report.String(), ErrUnbalanced
	}
	return report.String() + "books balance: zero lost, zero doubled\n", nil
}

// settle waits until /readyz reports no ledger backlog and no ClickHouse lag.
func (b Books) settle(ctx context.Context) error {
	deadline := time.Now().Add(b.Settle)
	for {
		var st struct {
			Backlog uint64 `json:"ledger_backlog_bytes"`
			Lag     uint64 `json:"clickhouse_lag_bytes"`
		}
		err := b.get(ctx, "/readyz", &st)
		if err == nil && st.Backlog == 0 && st.Lag == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pixelpost did not catch up within %s (backlog %d bytes, clickhouse lag %d bytes, %v)",
				b.Settle, st.Backlog, st.Lag, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b Books) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", b.Base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// /readyz answers 503 with its figures while degraded: decode anyway.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// WaitIdle polls pixelpost's /metrics until every hit it answered is
// applied to the ledger and shipped to ClickHouse (backlog and lag 0).
func WaitIdle(metricsURL string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		busy, err := pipelineBusy(metricsURL)
		if err == nil && !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pixelpost still busy after %s (%v)", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pipelineBusy(metricsURL string) (bool, error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return true, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && (name == "pixelpost_ledger_backlog_bytes" || name == "pixelpost_clickhouse_lag") && value != "0" {
			return true, nil
		}
	}
	return false, nil
}

// Flush asks pixelpost (POST /api/v1/flush, admin token) to answer once
// every hit it recorded before the call is applied and shipped, hurrying
// the ClickHouse batch instead of waiting for its delay.
func Flush(base, adminToken string, timeout time.Duration) error {
	req, err := http.NewRequest("POST", base+"/api/v1/flush?wait="+timeout.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{Timeout: timeout + 10*time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot flush: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("cannot flush: status %d: %s", resp.StatusCode, body)
	}
	return nil
}
