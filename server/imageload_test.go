package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pixelpost/pixelpost/storage"
)

func TestBrowserImageLoad(t *testing.T) {
	f := func(secFetchDest, accept string, want bool) {
		t.Helper()
		var h fasthttp.RequestHeader
		if secFetchDest != "" {
			h.Set("Sec-Fetch-Dest", secFetchDest)
		}
		if accept != "" {
			h.Set("Accept", accept)
		}
		if got := browserImageLoad(&h); got != want {
			t.Errorf("Sec-Fetch-Dest %q, Accept %q: %v, want %v", secFetchDest, accept, got, want)
		}
	}
	// Sec-Fetch-Dest decides when present.
	f("image", "", true)
	f("image", "*/*", true)
	f(" Image ", "", true)
	f("document", "image/webp,*/*", false)
	f("empty", "", false)
	f("iframe", "", false)
	// Without it, the preferred media range of Accept: browsers' image loads.
	f("", "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", true)         // Chrome
	f("", "image/avif,image/webp,*/*", true)                                                // Firefox
	f("", "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", true) // Safari
	f("", "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5", true)                          // IE 11
	f("", " IMAGE/GIF ; q=1", true)
	f("", "image/*", true)
	// Backends, navigations and junk are not.
	f("", "", false)
	f("", "*/*", false)
	f("", "*/*;q=0.8, image/webp", false)
	f("", "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8", false) // a navigation
	f("", "application/json", false)
	f("", "image/", false)
	f("", "images/gif", false)
	f("", ",image/gif", false)
}

// Pixel hits of browser image loads (the conversion pixel, its click
// conversion, the registration pixel) are answered once written; backend
// GETs and every other endpoint once synced. Both kinds reach the ledger.
func TestBrowserPixelsAcknowledgedOnceWritten(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	written := func() uint64 { return h.srv.pipeline.Stats().Hits.Written }
	fire := func(path string, header ...string) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		h.pixelReq(req)
	}
	conv := "/v1/conversion/pixel/" + h.acct + "?webinarId=w1&amount=5&currency=USD&orderId="
	fire(conv + "backend")
	fire(conv+"curl", "Accept", "*/*")
	fire(conv+"nav", "Sec-Fetch-Dest", "document", "Accept", "image/webp")
	if n := written(); n != 0 {
		t.Fatalf("%d hits of non-image requests acknowledged before their fsync", n)
	}
	fire(conv+"chrome", "Sec-Fetch-Dest", "image", "Accept", "image/avif,image/webp,*/*")
	fire(conv+"oldsafari", "Accept", "image/webp,image/png,*/*;q=0.5")
	fire("/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=reg@example.com", "Sec-Fetch-Dest", "image")
	if n := written(); n != 3 {
		t.Fatalf("%d browser image loads acknowledged once written, want 3", n)
	}
	assertStats(t, h.stats("w1"), 5, map[string]any{"USD": "25.00"})
	if st := h.stats("w1"); st["registrants"] != 1.0 {
		t.Errorf("registrants = %v, want 1", st["registrants"])
	}
	resp := h.do(httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `pixelpost_hits_acknowledged_total{when="written"} 3`) {
		t.Errorf("metrics lack 3 hits acknowledged once written:\n%s", grepLines(string(body), "acknowledged"))
	}
	if h.srv.metrics.count(storage.KindPixel, "lost", "wal_unavailable") != 0 {
		t.Error("hits lost")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
