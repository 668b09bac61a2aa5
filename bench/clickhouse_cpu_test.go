package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// TestClickHouseCPUPerRow measures ClickHouse's own CPU time (from
// /proc/<pid>/stat: inserts and the background merges they cause) per row
// inserted at a steady rate into a hits table already holding 1 M rows of
// the same month, for the old layout (monthly partitions, 10k-row inserts
// every second: what the shipper did at 10k hits/s) and the new one (daily
// partitions, 50k rows every 5 s), and the two crossed, alternated.
// Needs the ClickHouse of scripts/services.sh and its pid:
//
//	PIXELPOST_BENCH_CLICKHOUSE_PID=$(cat "$PIXELPOST_TEST_SERVICES_DIR/clickhouse/clickhouse.pid") \
//	  go test ./bench -run TestClickHouseCPUPerRow -v -timeout 60m
//
// PIXELPOST_BENCH_CLICKHOUSE_SECONDS sets each run's insert phase (default
// 60), PIXELPOST_BENCH_CLICKHOUSE_ROUNDS the rounds (default 2).
func TestClickHouseCPUPerRow(t *testing.T) {
	pid := os.Getenv("PIXELPOST_BENCH_CLICKHOUSE_PID")
	base := os.Getenv("PIXELPOST_TEST_CLICKHOUSE")
	if pid == "" || base == "" {
		t.Skip("PIXELPOST_BENCH_CLICKHOUSE_PID and PIXELPOST_TEST_CLICKHOUSE are not set (a measurement, not a test)")
	}
	secs, rounds := envInt("PIXELPOST_BENCH_CLICKHOUSE_SECONDS", 60), envInt("PIXELPOST_BENCH_CLICKHOUSE_ROUNDS", 2)
	const rate = 10_000 // rows a second
	type setup struct {
		monthly bool
		batch   int
	}
	setups := []setup{{true, 10_000}, {false, 50_000}, {true, 50_000}, {false, 10_000}}
	for r := range rounds {
		for _, s := range setups {
			layout := "daily"
			if s.monthly {
				layout = "monthly"
			}
			rows, cpu, parts := insertRun(t, base, pid, s.monthly, s.batch, rate, secs)
			t.Logf("round %d: %-7s partitions, %5d-row inserts every %.0f s: %d rows, ClickHouse CPU %.2f s = %.2f µs/row; active parts after: %d",
				r+1, layout, s.batch, float64(s.batch)/rate, rows, cpu.Seconds(), float64(cpu.Microseconds())/float64(rows), parts)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchMonth is the pinned month of the rows: the 1 M rows already there
// span its first 20 days, the inserted ones its 21st.
var benchMonth = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// insertRun fills a fresh database's hits table with 1 M rows, waits for
// its merges, then inserts rate rows a second in batches of batch rows for
// secs seconds, waits for the merges again, and returns the rows inserted
// and ClickHouse's CPU time over the insert phase and the merges after it.
func insertRun(t *testing.T, base, pid string, monthly bool, batch, rate, secs int) (int, time.Duration, uint64) {
	t.Helper()
	ctx := context.Background()
	dsn := strings.TrimSuffix(base, "/pixelpost_test") + fmt.Sprintf("/pp_chcpu_%d", rand.Uint64())
	c, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+c.Database())
	if monthly {
		ddl := strings.Replace(clickhouse.HitsDDL, "toYYYYMMDD(ts)", "toYYYYMM(ts)", 1)
		for _, q := range []string{"DROP TABLE hits", ddl} {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	const prefill = 1_000_000
	hits := make([]storage.Hit, 50_000)
	for i := 0; i < prefill; i += len(hits) {
		for j := range hits {
			n := i + j
			hits[j] = benchRow(n, benchMonth.Add(time.Duration(n)*20*24*time.Hour/prefill))
		}
		if err := c.Insert(ctx, hits); err != nil {
			t.Fatal(err)
		}
	}
	waitMerges(t, conn)

	cpu0 := serverCPU(t, pid)
	every := time.Duration(batch) * time.Second / time.Duration(rate)
	pace := time.NewTicker(every) // the insert rate, whatever the wall clock says
	defer pace.Stop()
	total := rate * secs
	day21 := benchMonth.AddDate(0, 0, 20)
	hits = hits[:0]
	for sent := 0; sent < total; sent += batch {
		hits = hits[:0]
		for j := range min(batch, total-sent) {
			n := prefill + sent + j
			hits = append(hits, benchRow(n, day21.Add(time.Duration(sent+j)*time.Second/time.Duration(rate))))
		}
		if err := c.Insert(ctx, hits); err != nil {
			t.Fatal(err)
		}
		<-pace.C
	}
	waitMerges(t, conn)
	cpu := serverCPU(t, pid) - cpu0
	var parts uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND table = 'hits' AND active", c.Database()).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	return total, cpu, parts
}

// benchRow is a pixel hit of realistic size (~400 bytes of strings).
func benchRow(n int, at time.Time) storage.Hit {
	id := fmt.Sprintf("%013x-%016x", at.UnixMilli(), uint64(n)*0x9e3779b97f4a7c15)
	return storage.Hit{
		ID: id, Time: at, Account: "acme", Kind: storage.KindPixel, Status: storage.StatusAccepted,
		Webinars: []string{"w" + strconv.Itoa(n%7)}, Credited: []string{"w" + strconv.Itoa(n%7)},
		OrderID: strconv.Itoa(n), OrderKey: "o:" + strconv.Itoa(n), HasAmount: true,
		Amount: attribution.Micros(49_990_000), Delta: attribution.Micros(49_990_000), Currency: "USD",
		Source: "pixel", AttendeeID: fmt.Sprintf("e_%024x", n), EmailSHA256: fmt.Sprintf("%064x", n),
		IP:        fmt.Sprintf("203.0.%d.0", n%256),
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Referer:   "https://shop.example.com/thank-you?order=" + strconv.Itoa(n),
		Query:     "webinarId=w" + strconv.Itoa(n%7) + "&email=REDACTED&amount=49.99&currency=USD&orderId=" + strconv.Itoa(n),
	}
}

// waitMerges waits until ClickHouse has run no merge for 3 s in a row (at
// most 5 minutes).
func waitMerges(t *testing.T, conn ch.Conn) {
	t.Helper()
	quiet := 0
	for polls := 0; quiet < 3 && polls < 300; polls, _ = polls+1, <-time.After(time.Second) {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.merges").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// serverCPU is the user and system CPU time of a process so far.
func serverCPU(t *testing.T, pid string) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is the
	// first; utime and stime are the 12th and 13th, in clock ticks (100/s).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
