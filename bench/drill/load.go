package drill

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// What a request of the mix is.
type kind uint8

const (
	kindNew       kind = iota // a thank-you page: a new order of a customer
	kindRefresh               // the same page loaded again (same order)
	kindRecurring             // the shop's backend: a renewal, no webinar
	kindClick                 // a campaign link
	kindPostback              // the network's postback for an earlier click
	kindLead                  // a lead-generation card
)

var kindNames = [...]string{"pixel", "refresh", "recurring", "click", "postback", "lead"}

func (k kind) String() string { return kindNames[k] }

// The mix's money (micro-units of USD).
const (
	saleMicros  = 49_990_000
	renewMicros = 19_990_000
	webinars    = 4
)

// request is one request the generator sent, and what became of it.
type request struct {
	seq      int
	kind     kind
	path     string // path and query
	direct   string // the node it was sent to, bypassing the load balancer ("" via nginx)
	customer int    // new, refresh, recurring
	order    int    // new: its seq; refresh: the seq of the order it repeats
	click    int    // postback: the click's seq

	sent, answered time.Time
	code           int
	upstream       []string // nodes tried, in order; the last answered
	upStatus       []string // what each answered (nginx's word for one it could not reach: 502/504)
	clickID        string   // click: the id the redirect carried
	err            string
}

// answeredBy returns the node that answered, or "" when no node did (a
// transport error, or nginx could reach none).
func (r *request) answeredBy() string {
	if r.code == 0 || len(r.upstream) == 0 {
		return ""
	}
	last := r.upStatus[len(r.upStatus)-1]
	if last == "502" || last == "504" || last == "-" {
		return ""
	}
	return r.upstream[len(r.upstream)-1]
}

// retried reports a request nginx sent to more than one node.
func (r *request) retried() bool { return len(r.upstream) > 1 }

// generator drives the mix at a fixed rate through the load balancer and
// keeps every request, its answer and what the mix expects of it.
type generator struct {
	lb        string // http://host:port of nginx
	account   string
	campaign  string
	network   string
	secret    string
	endpoint  string
	salt      string
	token     string // admin token, for the ledger reads of the confirmer
	customers int

	client *http.Client

	mu        sync.Mutex
	rng       *rand.Rand
	reqs      []*request // by seq
	orders    []int      // seqs of new orders
	first     map[int]*request
	confirmed []int // customers the ledger shows (their first order applied)
	checked   map[int]bool
	clicks    []int          // seqs of clicks with an id, applied (their row is in ClickHouse)
	answered  map[string]int // click id -> seq, of clicks answered but not seen applied yet
	converted map[int]bool
}

func newGenerator(lb string, seed uint64, customers int, cfg setup) *generator {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &generator{lb: lb, account: cfg.account, campaign: cfg.campaign, network: cfg.network,
		secret: cfg.secret, endpoint: cfg.endpoint, salt: cfg.salt, token: cfg.token, customers: customers,
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), first: map[int]*request{},
		checked: map[int]bool{}, converted: map[int]bool{}, answered: map[string]int{}}
}

// Settings of the confirmers and the postbacks: a renewal is sent for a
// customer whose first order the ledger shows, a postback for a click
// whose row is in ClickHouse (so the ledger applied it) and that was
// answered at least referLag ago: a network converts clicks later, a
// backend renews months later, and both find what they refer to applied,
// whatever backlog the node that took it had.
const (
	referLag    = 10 * time.Second
	workers     = 96
	maxInFlight = 100000
	burstRate   = 1000 // hits a second of the flood that fills a node's log
)

// next builds request seq of the mix.
func (g *generator) next(seq int) *request {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := &request{seq: seq}
	x := g.rng.Float64()
	switch {
	case x < 0.40:
		g.newOrder(r)
	case x < 0.55:
		if len(g.orders) == 0 {
			g.newOrder(r)
			break
		}
		o := g.reqs[g.orders[g.rng.IntN(len(g.orders))]]
		r.kind, r.customer, r.order = kindRefresh, o.customer, o.seq
		r.path = pixelPath(g.account, o.customer, o.seq, seq)
	case x < 0.65:
		if len(g.confirmed) == 0 {
			g.newOrder(r)
			break
		}
		r.kind, r.customer = kindRecurring, g.confirmed[g.rng.IntN(len(g.confirmed))]
		r.path = fmt.Sprintf("/v1/conversion/pixel/%s?email=c%d%%40drill.example&amount=19.99&currency=USD&orderId=R%d&dseq=%d",
			g.account, r.customer, seq, seq)
	case x < 0.80:
		r.kind = kindClick
		r.path = fmt.Sprintf("/c/%s?external_id=e%d&zone_id=%d&cost=0.01&dseq=%d", g.campaign, seq, seq%20, seq)
	case x < 0.90:
		c := g.clickToConvert()
		if c == nil {
			g.newOrder(r)
			break
		}
		r.kind, r.click = kindPostback, c.seq
		r.path = fmt.Sprintf("/v1/postback/%s/%s?cid=%s&payout=1.50&status=approved&txid=T%d&secret=%s&dseq=%d",
			g.account, g.network, c.clickID, seq, url.QueryEscape(g.secret), seq)
	default:
		r.kind = kindLead
		email, name, handle := fmt.Sprintf("lead%d@drill.example", seq), fmt.Sprintf("Lead %d", seq), fmt.Sprintf("@l%d", seq)
		sum := md5.Sum([]byte(email + "," + name + "," + handle + "," + g.salt))
		q := url.Values{"email": {email}, "name": {name}, "screen_name": {handle}, "source": {"DRILL"},
			"dseq": {strconv.Itoa(seq)}, "token": {hex.EncodeToString(sum[:])}}
		r.path = "/v1/leads/" + g.endpoint + "?" + q.Encode()
	}
	for len(g.reqs) <= seq {
		g.reqs = append(g.reqs, nil)
	}
	g.reqs[seq] = r
	return r
}

// newOrder makes r a new order of a random customer. Each customer buys
// on one webinar only, so that its acquisition webinar (where renewals
// are credited) does not depend on which of its orders the ledger saw
// first.
func (g *generator) newOrder(r *request) {
	r.kind, r.customer, r.order = kindNew, g.rng.IntN(g.customers), r.seq
	r.path = pixelPath(g.account, r.customer, r.seq, r.seq)
	g.orders = append(g.orders, r.seq)
}

// pixelPath is the conversion pixel of customer's order (a refresh of an
// order is the same URL but for dseq, the drill's request number).
func pixelPath(account string, customer, order, seq int) string {
	return fmt.Sprintf("/v1/conversion/pixel/%s?webinarId=w%d&email=c%d%%40drill.example&amount=49.99&currency=USD&orderId=O%d&dseq=%d",
		account, customer%webinars, customer, order, seq)
}

// clickToConvert picks a click answered at least referLag ago that no
// postback converted yet. Called with g.mu held.
func (g *generator) clickToConvert() *request {
	for tries := 0; tries < 8 && len(g.clicks) > 0; tries++ {
		i := g.rng.IntN(len(g.clicks))
		c := g.reqs[g.clicks[i]]
		if time.Since(c.answered) < referLag {
			continue
		}
		g.clicks[i] = g.clicks[len(g.clicks)-1]
		g.clicks = g.clicks[:len(g.clicks)-1]
		if !g.converted[c.seq] {
			g.converted[c.seq] = true
			return c
		}
	}
	return nil
}

// do sends r (to node when set, else through the load balancer) and
// records the answer.
func (g *generator) do(r *request, node string) {
	base := g.lb
	if node != "" {
		base, r.direct = "http://"+node, node
	}
	r.sent = time.Now()
	resp, err := g.client.Get(base + r.path)
	r.answered = time.Now()
	if err != nil {
		r.err = err.Error()
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.code = resp.StatusCode
	if node != "" {
		r.upstream, r.upStatus = []string{node}, []string{strconv.Itoa(resp.StatusCode)}
	} else {
		r.upstream = splitUpstream(resp.Header.Get("X-Drill-Upstream"))
		r.upStatus = splitUpstream(resp.Header.Get("X-Drill-Upstream-Status"))
		if len(r.upStatus) != len(r.upstream) {
			r.upStatus = append(make([]string, len(r.upstream)-min(len(r.upstream), len(r.upStatus))), r.upStatus...)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch r.kind {
	case kindClick:
		if r.code == http.StatusFound {
			if loc, err := url.Parse(resp.Header.Get("Location")); err == nil {
				r.clickID = loc.Query().Get("s1")
			}
			if r.clickID != "" {
				g.answered[r.clickID] = r.seq
			}
		}
	case kindNew:
		if r.answeredBy() != "" && g.first[r.customer] == nil {
			g.first[r.customer] = r
		}
	}
}

// splitUpstream splits nginx's "a, b : c" lists.
func splitUpstream(v string) []string {
	if v == "" {
		return nil
	}
	v = strings.ReplaceAll(v, " : ", ", ")
	var out []string
	for _, p := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// drive sends the mix at rate requests/s until ctx ends, through
// workers goroutines (open loop: the i-th request is due at start +
// i/rate; a slow answer delays no other request). It returns when every
// request sent has been answered.
func (g *generator) drive(ctx context.Context, rate float64) {
	jobs := make(chan *request, maxInFlight)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				g.do(r, "")
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		} else if ctx.Err() != nil {
			return
		}
		jobs <- g.next(g.reserve())
	}
}

// reserve hands out the next request number (to drive and the bursts).
func (g *generator) reserve() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = append(g.reqs, nil) // filled by next
	return len(g.reqs) - 1
}

// burstOne sends one new order straight to node and returns 1.
func (g *generator) burstOne(node string) int {
	seq := g.reserve()
	g.mu.Lock()
	r := &request{seq: seq}
	g.newOrder(r)
	g.reqs[seq] = r
	g.mu.Unlock()
	g.do(r, node)
	return 1
}

// burst sends new orders straight to one node, conns at a time and at
// most burstRate a second, until stop is closed: the flood that fills a
// cut node's hits log. It returns how many it sent.
func (g *generator) burst(node string, conns int, stop <-chan struct{}) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	tick := time.NewTicker(time.Second / burstRate)
	defer tick.Stop()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				g.burstOne(node)
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// confirm runs until ctx ends: every second it asks the ledger (through
// the load balancer) about customers whose first order was answered at
// least referLag ago, and keeps those it shows with their acquisition
// webinar for renewals.
func (g *generator) confirm(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		var todo []int
		for c, r := range g.first {
			if !g.checked[c] && time.Since(r.answered) >= referLag && len(todo) < 20 {
				todo = append(todo, c)
			}
		}
		g.mu.Unlock()
		for _, c := range todo {
			ok, err := g.ledgerShows(ctx, c)
			if err != nil {
				continue // asked again next second
			}
			g.mu.Lock()
			g.checked[c] = true
			if ok {
				g.confirmed = append(g.confirmed, c)
			}
			g.mu.Unlock()
		}
	}
}

// confirmClicks runs until ctx ends: every two seconds it reads which
// answered clicks have a row in ClickHouse (rows are shipped after the
// ledger applied them) and makes them candidates for postbacks. A query
// that fails (a shard is down) is tried again next time.
func (g *generator) confirmClicks(ctx context.Context, conn driver.Conn) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		n := len(g.answered)
		g.mu.Unlock()
		if n == 0 {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rows, err := conn.Query(qctx, "SELECT DISTINCT click_id FROM hits WHERE account = ? AND kind = 'click' AND status != 'rejected'", g.account)
		if err != nil {
			cancel()
			continue
		}
		var ids []string
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				ids = append(ids, id)
			}
		}
		err = rows.Err()
		rows.Close()
		cancel()
		if err != nil {
			continue
		}
		g.mu.Lock()
		for _, id := range ids {
			if seq, ok := g.answered[id]; ok {
				delete(g.answered, id)
				g.clicks = append(g.clicks, seq)
			}
		}
		g.mu.Unlock()
	}
}

// ledgerShows reports whether the ledger has customer c with an
// acquisition webinar.
func (g *generator) ledgerShows(ctx context.Context, c int) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/accounts/%s/attendees/c%d@drill.example", g.lb, g.account, c), nil)
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return false, nil
	case http.StatusOK:
	default:
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	var a struct {
		Acquisition []string `json:"acquisition_webinars"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return false, err
	}
	return len(a.Acquisition) > 0, nil
}

// requests returns every request sent, by seq.
func (g *generator) requests() []*request {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*request, 0, len(g.reqs))
	for _, r := range g.reqs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
