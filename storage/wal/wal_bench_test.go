package wal

import (
	"fmt"
	"io"
	"testing"
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
