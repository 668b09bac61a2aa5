package load

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The open-loop generator sends exactly rate × duration requests, each
// with the browser's headers, and counts a server's stall against every
// request due meanwhile (coordinated omission), not only the one it held.
func TestOpenLoopCountsLatencyFromTheDueTime(t *testing.T) {
	var n, browser atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond) // one stall, at the start
		}
		if r.Header.Get("Sec-Fetch-Dest") == "image" && strings.HasPrefix(r.Header.Get("Accept"), "image/avif") {
			browser.Add(1)
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	target := func(dst []byte, i int) []byte { return strconv.AppendInt(append(dst, "/p?i="...), int64(i), 10) }
	r := OpenLoop(addr, target, Options{Conns: 1, Duration: time.Second, Rate: 200, Headers: BrowserHeaders})
	if r.Sent != 200 || r.OK != 200 || r.Errors != 0 {
		t.Fatalf("got %+v, want 200 requests sent and answered 200 (first error %q)", r, r.FirstErr)
	}
	if browser.Load() != 200 {
		t.Errorf("%d requests carried the browser's headers, want 200", browser.Load())
	}
	// About 60 requests were due during the 300 ms stall, each answered
	// late: well over 1 % of 200.
	if r.P99 < 100*time.Millisecond {
		t.Errorf("p99 %s: the stall's queue is not counted from the due times", r.P99)
	}
	if r.P50 > 100*time.Millisecond {
		t.Errorf("p50 %s: most requests should be answered at once", r.P50)
	}
}
