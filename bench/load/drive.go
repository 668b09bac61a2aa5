package load

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Target builds the URL of request i.
type Target func(dst []byte, i int) []byte

// Options of one drive.
type Options struct {
	Conns    int           // concurrent connections (closed loop) or workers (open loop)
	Duration time.Duration // how long to send
	// Rate > 0: open loop at Rate requests/s. Request i is due at start +
	// i/Rate and its latency is counted from then, so a stalled server
	// shows in the percentiles instead of slowing the sender down
	// (coordinated omission). 0: closed loop, each connection sends its
	// next request when the previous one is answered (maximum throughput).
	Rate float64
	// Headers are extra request headers, "Name: value\r\n" lines (such as
	// BrowserHeaders).
	Headers string
	// Want is the status a request must get (0: 200).
	Want int
	// OnResponse, if set, sees each answer (from several goroutines).
	OnResponse func(i int, resp *fasthttp.Response)
	// Warmup, if set, is a request URI each connection gets once before the
	// clock starts (default /healthz), so that connecting and the first
	// allocations are not timed as the server's latency. Any status will do.
	Warmup string
}

// Result of a drive.
type Result struct {
	Sent     int           // requests sent: indexes 0..Sent-1
	OK       int           // answered 200
	Errors   int           // transport errors and other statuses
	Elapsed  time.Duration // first send to last answer
	RPS      float64
	P50, P99 time.Duration
	P999     time.Duration
	Max      time.Duration
	FirstErr string
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests, %d ok, %d errors in %s: %.0f req/s, p50 %s, p99 %s, p99.9 %s, max %s",
		r.Sent, r.OK, r.Errors, r.Elapsed.Round(time.Millisecond), r.RPS,
		r.P50, r.P99, r.P999, r.Max)
}

// Drive sends requests to addr (host:port) until the duration is over.
func Drive(addr string, target Target, o Options) Result {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: o.Conns, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute}
	var (
		next     atomic.Int64
		ok, errs atomic.Int64
		firstErr atomic.Pointer[string]
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
	)
	want := o.Want
	if want == 0 {
		want = fasthttp.StatusOK
	}
	var headers [][2]string
	for _, line := range strings.Split(o.Headers, "\r\n") {
		if name, value, ok := strings.Cut(line, ": "); ok {
			headers = append(headers, [2]string{name, value})
		}
	}
	warmup := o.Warmup
	if warmup == "" {
		warmup = "/healthz"
	}
	var (
		start, stop time.Time
		warm        sync.WaitGroup
		begin       = make(chan struct{})
	)
	for range o.Conns {
		wg.Add(1)
		warm.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var url []byte
			local := make([]time.Duration, 0, 1024)
			// Every worker holds a connection before the clock starts.
			req.SetRequestURI("http://" + addr + warmup)
			_ = client.Do(req, resp)
			warm.Done()
			<-begin
			for {
				// Every index taken is sent, so the indexes sent are 0..Sent-1
				// and the expected totals follow from Sent alone.
				if o.Rate <= 0 && !time.Now().Before(stop) {
					break
				}
				i := int(next.Add(1) - 1)
				due := time.Now()
				if o.Rate > 0 {
					due = start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
					if !due.Before(stop) {
						break // due times grow with i: every later index is past too
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				url = target(url[:0], i)
				req.SetRequestURIBytes(url)
				for _, kv := range headers {
					req.Header.Set(kv[0], kv[1])
				}
				err := client.Do(req, resp)
				local = append(local, time.Since(due))
				switch {
				case err != nil:
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
				case resp.StatusCode() != want:
					errs.Add(1)
					msg := fmt.Sprintf("status %d", resp.StatusCode())
					firstErr.CompareAndSwap(nil, &msg)
				default:
					ok.Add(1)
					if o.OnResponse != nil {
						o.OnResponse(i, resp)
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	warm.Wait()
	start = time.Now()
	stop = start.Add(o.Duration)
	close(begin)
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{OK: int(ok.Load()), Errors: int(errs.Load()), Elapsed: elapsed}
	r.Sent = r.OK + r.Errors
	r.RPS = float64(r.Sent) / elapsed.Seconds()
	if e := firstErr.Load(); e != nil {
		r.FirstErr = *e
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	r.P50, r.P99, r.P999 = pct(0.50), pct(0.99), pct(0.999)
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	return r
}

// ErrUnbalanced: the books do not balance after a run.
var ErrUnbalanced = errors.New("books do not balance")
