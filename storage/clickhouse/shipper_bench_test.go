package clickhouse

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage/wal"
)

// BenchmarkShip replays a rows log of 200k hits into ClickHouse (decode,
// batch, insert) and reports rows/s. Target: at least 200,000 rows/s.
//
//	go test ./storage/clickhouse/ -run '^$' -bench Ship -benchtime 3x
func BenchmarkShip(b *testing.B) {
	const n = 200_000
	c := openTest(b)
	l := openLog(b, wal.Options{Dir: b.TempDir(), NoSync: true})
	appendHits(b, l, manyHits("bench", n))
	deps := ShipperDeps{Log: l, Client: c, Logger: zerolog.Nop()}

	b.ResetTimer()
	start := time.Now()
	for range b.N {
		st, err := ImportAll(b.Context(), deps, 0)
		if err != nil {
			b.Fatal(err)
		}
		if st.Shipped != n {
			b.Fatalf("shipped %d, want %d", st.Shipped, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "rows/s")
}
