package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// BrowserHeaders are the headers a browser sends with an <img> load
// (Chrome's): what makes pixelpost treat a pixel hit as a browser image
// load.
const BrowserHeaders = "Sec-Fetch-Dest: image\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: cross-site\r\n" +
	"Accept: image/avif,image/webp,image/apng,image/*,*/*;q=0.8\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"

// OpenLoop sends requests at o.Rate per second for o.Duration, request i
// due at start + i/Rate, over o.Conns keep-alive connections, and counts
// each latency from the request's due time (a stall shows in the
// percentiles instead of slowing the sender: coordinated omission).
//
// It is built to cost the machine it shares with the server little CPU:
// one scheduler goroutine wakes at most every 200 µs and hands the due
// indexes to the connections through a channel (no timer per request);
// each connection writes the request bytes it builds in a reused buffer
// (target's path plus headers, a raw HTTP/1.1 request) and reads the
// answer with a minimal parser (status line, Content-Length, body);
// latencies go to a fixed histogram. No allocation per request. target
// must return a request URI (a path with its query); o.Headers are sent
// with each request. Only answers framed by
// Content-Length are understood (a chunked answer is an error).
func OpenLoop(addr string, target Target, o Options) Result {
	want := o.Want
	if want == 0 {
		want = 200
	}
	total := int(o.Rate * o.Duration.Seconds())
	jobs := make(chan int, min(total, 1<<20))
	var (
		ok, errs atomic.Int64
		firstErr atomic.Pointer[string]
		hist     latencyHistogram
		wg, warm sync.WaitGroup
		start    time.Time
		begin    = make(chan struct{})
	)
	fail := func(err error) {
		errs.Add(1)
		msg := err.Error()
		firstErr.CompareAndSwap(nil, &msg)
	}
	step := time.Duration(float64(time.Second) / o.Rate)
	for range o.Conns {
		wg.Add(1)
		warm.Add(1)
		go func() {
			defer wg.Done()
			c := &rawConn{addr: addr, host: addr, headers: o.Headers}
			// Each connection is open before the clock starts.
			if err := c.dial(); err != nil {
				fail(err)
			}
			warm.Done()
			<-begin
			for i := range jobs {
				status, err := c.do(target, i)
				hist.add(time.Since(start.Add(time.Duration(i) * step)))
				switch {
				case err != nil:
					fail(err)
				case status != want:
					fail(fmt.Errorf("status %d", status))
				default:
					ok.Add(1)
				}
			}
			c.close()
		}()
	}
	warm.Wait()
	start = time.Now()
	close(begin)
	for sent := 0; sent < total; {
		due := min(total, int(time.Since(start)/step)+1)
		for ; sent < due; sent++ {
			jobs <- sent
		}
		if sent < total {
			time.Sleep(max(200*time.Microsecond, time.Until(start.Add(time.Duration(sent)*step))))
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{OK: int(ok.Load()), Errors: int(errs.Load()), Elapsed: elapsed}
	r.Sent = r.OK + r.Errors
	r.RPS = float64(r.Sent) / elapsed.Seconds()
	if e := firstErr.Load(); e != nil {
		r.FirstErr = *e
	}
	r.P50, r.P99, r.P999, r.Max = hist.quantile(0.50), hist.quantile(0.99), hist.quantile(0.999), hist.max()
	return r
}

// rawConn is one keep-alive HTTP/1.1 connection of OpenLoop, used by one
// goroutine.
type rawConn struct {
	addr, host, headers string
	conn                net.Conn
	r                   *bufio.Reader
	req                 []byte
}

func (c *rawConn) dial() error {
	conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", c.addr, err)
	}
	c.conn = conn
	if c.r == nil {
		c.r = bufio.NewReaderSize(conn, 4096)
	} else {
		c.r.Reset(conn)
	}
	return nil
}

func (c *rawConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

var errChunked = errors.New("answer without Content-Length (chunked?)")

// do sends request i and reads its answer, reconnecting first when the
// connection was lost (a lost connection fails the request it was for).
func (c *rawConn) do(target Target, i int) (int, error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	c.req = append(c.req[:0], "GET "...)
	c.req = target(c.req, i)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\n"...)
	c.req = append(c.req, c.headers...)
	c.req = append(c.req, "\r\n"...)
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return 0, err
	}
	status, err := c.readResponse()
	if err != nil {
		c.close()
	}
	return status, err
}

// readResponse reads one answer: its status, and its body skipped.
func (c *rawConn) readResponse() (int, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, fmt.Errorf("bad status line %q", line)
		}
		status = status*10 + int(d-'0')
	}
	length, closing := -1, false
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 { // \r\n: end of the header
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n := 0
			for _, d := range value {
				if d < '0' || d > '9' {
					return 0, fmt.Errorf("bad Content-Length %q", value)
				}
				n = n*10 + int(d-'0')
			}
			length = n
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	if length < 0 {
		return 0, errChunked
	}
	if _, err := c.r.Discard(length); err != nil {
		return 0, err
	}
	if closing {
		c.close()
	}
	return status, nil
}

// latencyHistogram counts latencies in 10 µs buckets up to 100 ms and in
// 1 ms buckets up to 10 s (longer ones in the last), safe for concurrent
// use, without allocating.
type latencyHistogram struct {
	fine   [10_000]atomic.Uint64 // 0..100 ms by 10 µs
	coarse [10_000]atomic.Uint64 // 100 ms..10 s by 1 ms
	n      atomic.Uint64
	maxNs  atomic.Int64
}

func (h *latencyHistogram) add(d time.Duration) {
	d = max(d, 0)
	if d < 100*time.Millisecond {
		h.fine[d/(10*time.Microsecond)].Add(1)
	} else {
		h.coarse[min(len(h.coarse)-1, int((d-100*time.Millisecond)/time.Millisecond))].Add(1)
	}
	h.n.Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *latencyHistogram) max() time.Duration { return time.Duration(h.maxNs.Load()) }

// quantile is the upper bound of the bucket holding quantile q.
func (h *latencyHistogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	var seen uint64
	for i := range h.fine {
		if seen += h.fine[i].Load(); seen > rank {
			return time.Duration(i+1) * 10 * time.Microsecond
		}
	}
	for i := range h.coarse {
		if seen += h.coarse[i].Load(); seen > rank {
			return 100*time.Millisecond + time.Duration(i+1)*time.Millisecond
		}
	}
	return h.max()
}
