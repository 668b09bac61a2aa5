package redisledger

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// BenchmarkDecideAccount is the applier's Go side of a batch of 512
// conversions of one account (decisions, checks, writes), without the
// round trip to Redis: what pixelpost's CPU pays per op on top of the
// client. ns/op is per op; cpu-ns/op is the process's CPU time per op,
// which other processes on a busy machine do not inflate as they do the
// wall time.
func BenchmarkDecideAccount(b *testing.B) {
	l := openStandalone(b)
	acct := newAccount(b, l)
	ctx := context.Background()
	const batch = 512
	ops := make([]storage.Op, batch)
	idx := make([]int, batch)
	for i := range ops {
		email := "c" + strconv.Itoa(i%200) + "@bench.example"
		sum := attribution.EmailSHA256(email)
		op := storage.Op{HitID: "h" + strconv.Itoa(i), Account: acct, Kind: storage.OpConversion,
			Time: time.Unix(1_800_000_000, int64(i)), Currency: "USD", HasAmount: true, Amount: 49_990_000,
			Source: "pixel", AttendeeEmail: email, AttendeeEmailSHA256: sum, OrderID: strconv.Itoa(i),
			Webinars: []string{"w" + strconv.Itoa(i%4)}, Log: "bench-log", Pos: uint64(i + 1)}
		op.OrderKey, _ = attribution.OrderKey(attribution.OrderKeyInput{OrderID: op.OrderID,
			AttendeeID: attribution.AttendeeIDOfEmailSHA256(sum), Webinars: op.Webinars,
			Amount: op.Amount, Currency: op.Currency})
		ops[i], idx[i] = op, i
	}
	results := make([]storage.Result, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for n := 0; n < b.N; n += batch {
		if _, err := l.decideAccount(ctx, acct, idx, ops, results); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time the process used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
