package server

import (
	"fmt"
	"math"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// maxPixelAllocs bounds the heap allocations of one browser conversion
// pixel through the HTTP handler, middlewares and hits log included
// (allocations are the pixel path's main CPU cost after the socket). It
// was 20 before the hit stayed on the handler's stack and its id, email
// hash and headers were copied once each.
const maxPixelAllocs = 17

func TestConversionPixelAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's own allocations are counted too")
	}
	h := newHarness(t, embeddedLedger(t))
	// The count is the process's: the applier's work on earlier hits, on
	// other goroutines, can land in a round on a loaded machine. It only
	// adds, so the fewest of a few rounds is the pixel path's.
	const runs, rounds = 300, 5
	total := 1 + rounds*(runs+1) // AllocsPerRun calls once more to warm up
	fire := browserPixels(t, h, total)
	fire() // first use of the account, pools and the log
	allocs := math.Inf(1)
	for range rounds {
		allocs = min(allocs, testing.AllocsPerRun(runs, fire))
	}
	t.Logf("%.1f allocations per pixel hit", allocs)
	if allocs > maxPixelAllocs {
		t.Errorf("%.1f allocations per pixel hit, want at most %d", allocs, maxPixelAllocs)
	}
	// Fewer allocations, same hits: every one reaches the ledger.
	h.settle()
	assertStats(t, h.stats("w1"), float64(total), map[string]any{"USD": fmt.Sprintf("%.2f", 49.99*float64(total))})
}

// browserPixels returns a function that sends the next of n distinct
// conversion pixels, as a browser's image load, to h's handler.
func browserPixels(t *testing.T, h *harness, n int) func() {
	uris := make([][]byte, n)
	clients := make([]net.Addr, n) // one each: no hit is rate-limited
	for i := range uris {
		uris[i] = fmt.Appendf(nil, "/v1/conversion/pixel/%s?webinarId=w1&email=buyer%d@example.com&amount=49.99&currency=USD&orderId=o%d",
			h.acct, i, i)
		clients[i] = &net.TCPAddr{IP: net.IPv4(198, byte(i>>16), byte(i>>8), byte(i)), Port: 1}
	}
	handler := h.srv.Handler().Handler()
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, clients[0], nil)
	next := 0
	return func() {
		ctx.Request.Reset()
		ctx.Request.SetRequestURIBytes(uris[next])
		ctx.SetRemoteAddr(clients[next])
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.Header.Set("Sec-Fetch-Dest", "image")
		ctx.Request.Header.SetUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
		ctx.Request.Header.SetReferer("https://shop.example.com/thank-you?order=1")
		next++
		handler(&ctx)
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != len(transparentGIF) {
			t.Fatalf("pixel answered %d with %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
		}
		ctx.Response.Reset()
	}
}
