package clickhouse

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/pipeline"
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

// BenchmarkApplyShip drives pixel hits through the pipeline (hits log,
// applier with a ledger that accepts everything, rows log) and the
// shipper into ClickHouse, with and without the applier's in-memory
// handoff, and reports this process's CPU per hit (user + system, from
// getrusage: the hits log encode, the applier, the rows log, the shipper
// and the driver; not ClickHouse's). The two run alternately with -count.
//
//	go test ./storage/clickhouse/ -run '^$' -bench ApplyShip -benchtime 2x -count 6
func BenchmarkApplyShip(b *testing.B) {
	for _, handoff := range []int{0, pipeline.DefaultHandoffRows} {
		name := "log"
		if handoff > 0 {
			name = "handoff"
		}
		b.Run(name, func(b *testing.B) {
			const n = 20_000
			c := openTest(b)
			p, err := pipeline.Open(pipeline.Config{Dir: b.TempDir(), NoSync: true, HandoffRows: handoff},
				pipeline.Deps{Ledger: acceptAll{}, Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			applied := make(chan error, 1)
			go func() { applied <- p.Run(ctx, 10*time.Second) }()
			s := NewShipper(ShipperConfig{}, ShipperDeps{Log: p.Rows(), Client: c, Logger: zerolog.Nop(),
				Handoff: p.Handoff()})
			shipped := make(chan error, 1)
			go func() { shipped <- s.Run(ctx) }()
			defer func() {
				cancel()
				<-shipped
				<-applied
				p.Close()
			}()
			hits := make([]storage.Hit, n)
			for i := range hits {
				hits[i] = storage.Hit{Kind: storage.KindPixel, Account: "acme", Source: "pixel",
					Webinars: []string{"4429", "2527"}, Tags: []string{"course_sales"}, HasAmount: true,
					Amount: attribution.Micros(49_990_000), Currency: "USD", ProductID: "p1", ProductName: "Course",
					Email: "alice@example.com", EmailSHA256: "2c7e5e0b8a3c4f9d1e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a",
					IP: "203.0.113.0", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
					Referer: "https://shop.example.com/thank-you?order=1", Query: "webinarId=4429&webinarId=2527&email=REDACTED&amount=49.99&currency=USD"}
			}
			var cpu time.Duration
			b.ResetTimer()
			for it := range b.N {
				for i := range hits {
					hits[i].ID = fmt.Sprintf("h%d-%07d", it, i)
					hits[i].OrderID = hits[i].ID
					hits[i].Time = day0.Add(time.Duration(it*n+i) * time.Millisecond)
				}
				before := cpuTime(b)
				// 10,000 hits/s, about the sustained rate of the whole
				// system on the benchmark machine; unpaced, the applier
				// outruns any insert and the handoff only drops.
				tick := time.NewTicker(10 * time.Millisecond)
				for i := 0; i < n; i += 100 {
					if err := p.RecordAll(hits[i : i+100]); err != nil {
						b.Fatal(err)
					}
					<-tick.C
				}
				tick.Stop()
				wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
				if err := p.Sync(wctx); err != nil {
					b.Fatal(err)
				}
				if err := s.WaitShipped(wctx, p.Rows().End()); err != nil {
					b.Fatal(err)
				}
				wcancel()
				cpu += cpuTime(b) - before
			}
			st := s.Stats()
			if st.Shipped != uint64(n*b.N) {
				b.Fatalf("shipped %d, want %d", st.Shipped, n*b.N)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/hit")
			b.ReportMetric(float64(st.FromMemory)/float64(n*b.N), "from-memory")
		})
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
