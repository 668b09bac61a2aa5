// Package bench measures pixelpost. This file holds the Go benchmarks of
// the pixel path (parse + ledger through the real Fiber handler, no network);
// the load benchmark against nginx is its own command.
package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

// BenchmarkPixelEmbedded: one conversion pixel per op, concurrent callers,
// on the embedded ledger (bbolt, fsync per batch).
func BenchmarkPixelEmbedded(b *testing.B) {
	l, err := embedded.Open(b.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	benchPixel(b, l)
}

// BenchmarkPixelRedis: the same on Redis (PIXELPOST_TEST_REDIS, started by
// scripts/test.sh or bench/run).
func BenchmarkPixelRedis(b *testing.B) {
	url := os.Getenv("PIXELPOST_TEST_REDIS")
	if url == "" {
		b.Skip("PIXELPOST_TEST_REDIS is not set (scripts/services.sh start DIR)")
	}
	l, err := redisledger.OpenURL(url)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	benchPixel(b, l)
}

// BenchmarkPixelRejected: a hostile query, refused before the ledger.
func BenchmarkPixelRejected(b *testing.B) {
	l, err := embedded.Open(b.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h, acct, srv := newServer(b, l)
	uri := []byte("/v1/conversion/pixel/" + acct + "?webinarId=w1&amount=1e9")
	b.ReportAllocs()
	// Many clients, as on a real server: the group commit shares fsyncs
	// among the hits that arrive together.
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		for pb.Next() {
			ctx.Request.SetRequestURIBytes(uri)
			h(&ctx)
			ctx.Response.Reset()
		}
	})
	if err := srv.Settle(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPixelHandler: one browser conversion pixel per op through the
// handler (middlewares, parsing, redaction, the hits log write) on one
// goroutine, without the ledger, which applies hits behind it.
func BenchmarkPixelHandler(b *testing.B) {
	l, err := embedded.Open(b.TempDir()+"/ledger.db", embedded.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h, acct, _ := newServer(b, l)
	uris := make([][]byte, b.N)
	clients := make([]net.Addr, b.N) // one each: no hit is rate-limited
	for i := range uris {
		uris[i] = fmt.Appendf(nil, "/v1/conversion/pixel/%s?webinarId=w1&email=buyer%d@example.com&amount=49.99&currency=USD&orderId=o%d",
			acct, i, i)
		clients[i] = &net.TCPAddr{IP: net.IPv4(198, byte(i>>16), byte(i>>8), byte(i)), Port: 1}
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, clients[0], nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.Request.Reset()
		ctx.Request.SetRequestURIBytes(uris[i])
		ctx.SetRemoteAddr(clients[i])
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.Header.Set("Sec-Fetch-Dest", "image")
		ctx.Request.Header.SetUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
		ctx.Request.Header.SetReferer("https://shop.example.com/thank-you?order=1")
		h(&ctx)
		ctx.Response.Reset()
	}
}

func newServer(b *testing.B, l storage.Ledger) (fasthttp.RequestHandler, string, *server.Server) {
	b.Helper()
	acct := fmt.Sprintf("bench%d", os.Getpid())
	if err := l.PutAccount(context.Background(), storage.Account{ID: acct, DefaultCurrency: "USD"}); err != nil {
		b.Fatal(err)
	}
	cfg, err := server.Load([]string{"--admin-token", "bench-admin-token-0123456789", "--data-dir", b.TempDir()}, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(cfg, server.Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv.Handler().Handler(), acct, srv
}

// benchPixel drives the handler with a realistic mix: new orders, with one
// in five a refresh of an order already seen.
//
// The pixel answers once its hit is durable in the write-ahead log; the
// ledger applies hits behind it. The timer runs until the ledger has
// applied them all, so ns/op is the whole pipeline's throughput.
func benchPixel(b *testing.B, l storage.Ledger) {
	h, acct, srv := newServer(b, l)
	// One URI per op, built before the timer starts; each benchmark round
	// gets fresh order ids so that its first sightings are new.
	round := time.Now().UnixNano()
	uris := make([][]byte, min(b.N, 1<<20))
	for i := range uris {
		order := i
		if i%5 == 4 {
			order = i - 1 // a refresh of the previous order
		}
		uris[i] = fmt.Appendf(nil, "/v1/conversion/pixel/%s?webinarId=w%d&email=buyer%d@example.com&amount=49.99&currency=USD&orderId=%d-%d",
			acct, order%7, order, round, order)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var next atomic.Uint64
	// Many clients, as on a real server: the group commit shares fsyncs
	// among the hits that arrive together.
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		for pb.Next() {
			i := next.Add(1) - 1
			ctx.Request.SetRequestURIBytes(uris[i%uint64(len(uris))])
			h(&ctx)
			ctx.Response.Reset()
		}
	})
	if err := srv.Settle(context.Background()); err != nil {
		b.Fatal(err)
	}
	// The process's CPU time per hit (handler, applier, ledger, logs): less
	// sensitive than ns/op to the other processes of a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
