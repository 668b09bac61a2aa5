package wal

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// hitSize is a realistic raw hit: ids, a few parameters, user agent, IP.
const hitSize = 300

// BenchmarkAppendParallel measures durable appends of one hit each from
// many goroutines (b.SetParallelism(p) runs p*GOMAXPROCS of them), as the
// pixel handlers do: hits/s, fsyncs/s and records per fsync show the group
// commit at work.
func BenchmarkAppendParallel(b *testing.B) {
	for _, p := range []int{1, 16, 64} {
		for _, nosync := range []bool{false, true} {
			name := fmt.Sprintf("p=%d", p)
			if nosync {
				name += "/nosync"
			}
			b.Run(name, func(b *testing.B) {
				l, err := Open(Options{Dir: b.TempDir(), NoSync: nosync})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				hit := record("hit.", hitSize)
				b.SetBytes(hitSize)
				b.ReportAllocs()
				b.SetParallelism(p)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.Append(hit); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				st := l.Stats()
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(st.Records)/sec, "hits/s")
				b.ReportMetric(float64(st.Fsyncs)/sec, "fsyncs/s")
				if st.Fsyncs > 0 {
					b.ReportMetric(float64(st.Records)/float64(st.Fsyncs), "records/fsync")
				}
			})
		}
	}
}

// BenchmarkRead measures a shipper reading the log from the start.
func BenchmarkRead(b *testing.B) {
	const n = 200_000 // 60 MB over one segment boundary
	l, err := Open(Options{Dir: b.TempDir(), SegmentBytes: 32 << 20, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := make([][]byte, 100)
	for i := range batch {
		batch[i] = record(fmt.Sprintf("hit%d.", i), hitSize)
	}
	for range n / len(batch) {
		if _, err := l.Append(batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(hitSize)
	b.ReportAllocs()
	b.ResetTimer()
	r := l.NewReader(0)
	for i := 0; i < b.N; i++ {
		rec, _, err := r.Next()
		if err == io.EOF {
			r.Close()
			r = l.NewReader(0)
			rec, _, err = r.Next()
		}
		if err != nil || len(rec) != hitSize {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendLatency compares the latency of durable appends (Append,
// answered after the fsync) with written-only ones (AppendWritten, a
// browser's pixel) from 64 writers, the pixel handlers under load:
// p50/p99 of one call, and fsyncs per second.
func BenchmarkAppendLatency(b *testing.B) {
	for _, mode := range []string{"durable", "written"} {
		b.Run(mode, func(b *testing.B) {
			l, err := Open(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			appendRec := l.Append
			if mode == "written" {
				appendRec = l.AppendWritten
			}
			hit := record("hit.", hitSize)
			var mu sync.Mutex
			var lat []time.Duration
			b.ReportAllocs()
			b.SetParallelism(64 / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if _, err := appendRec(hit); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
			b.ReportMetric(float64(l.Stats().Fsyncs)/b.Elapsed().Seconds(), "fsyncs/s")
		})
	}
}
