package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// recorded is what ClickHouse holds of one request of the drill: the
// distinct hits whose query carries its dseq, and the last one's status.
type recorded struct {
	ids    map[string]bool
	status storage.Status
	reason string
}

// readRows reads the account's rows (deduplicated, FINAL) and files them
// by request number.
func readRows(ctx context.Context, ch *clickhouse.Client, account string) (map[int]*recorded, int, error) {
	out := map[int]*recorded{}
	orphans := 0
	err := ch.Rows(ctx, account, func(h storage.Hit) error {
		q, _ := url.ParseQuery(h.Query)
		seq, err := strconv.Atoi(q.Get("dseq"))
		if err != nil {
			orphans++
			return nil
		}
		r := out[seq]
		if r == nil {
			r = &recorded{ids: map[string]bool{}}
			out[seq] = r
		}
		r.ids[h.ID] = true
		r.status, r.reason = h.Status, h.Reason
		return nil
	})
	return out, orphans, err
}

// ledgerTotals are what the mix expects the ledger to hold.
type ledgerTotals struct {
	webinarSales   [webinars]int64
	webinarRevenue [webinars]int64
	customerOrders map[int]int64
	customerLTV    map[int]int64
}

// expect folds the requests that were recorded (at least one row) into
// the totals the ledger must show: one sale per order seen (its first
// sighting, whichever that was: a refresh of a lost page counts), one
// per renewal, each customer's orders and lifetime value. Renewals are
// credited to the customer's only webinar.
func expect(reqs []*request, rows map[int]*recorded) ledgerTotals {
	t := ledgerTotals{customerOrders: map[int]int64{}, customerLTV: map[int]int64{}}
	orders := map[int]int{} // order seq -> customer
	for _, r := range reqs {
		if rows[r.seq] == nil {
			continue
		}
		switch r.kind {
		case kindNew, kindRefresh:
			orders[r.order] = r.customer
		case kindRecurring:
			w := r.customer % webinars
			t.webinarSales[w]++
			t.webinarRevenue[w] += renewMicros
			t.customerOrders[r.customer]++
			t.customerLTV[r.customer] += renewMicros
		}
	}
	for _, c := range orders {
		w := c % webinars
		t.webinarSales[w]++
		t.webinarRevenue[w] += saleMicros
		t.customerOrders[c]++
		t.customerLTV[c] += saleMicros
	}
	return t
}

// audit is the books check's findings.
type audit struct {
	sent, answered, unanswered, unansweredRecorded int
	retried, recordedTwice                         int
	refused                                        map[string]int // answered 503: not recorded, said so
	// refusedClicks: click links answered 503 by a node that never read
	// their campaign (started during a ledger outage): the visitor is
	// told to try again, and the refused hit is recorded without an
	// account (the campaign names it), so not among the account's rows.
	refusedClicks         int
	lost                  map[string]int // answered as usual but not recorded
	doubled               []int          // recorded twice without a retry: a bug
	tooMany               []int
	orphanRows            int
	rows                  int
	postbacksBeforeClick  []int // decided unknown_click though their click was recorded
	postbacksOfLostClicks int
	problems              []string
}

// auditRows checks every request against its rows: answered once, once
// in ClickHouse; a hit a node could not record is one it counted as lost.
func auditRows(reqs []*request, rows map[int]*recorded, names map[string]string) audit {
	a := audit{refused: map[string]int{}, lost: map[string]int{}}
	for _, rec := range rows {
		a.rows += len(rec.ids)
	}
	for _, r := range reqs {
		a.sent++
		n := 0
		if rec := rows[r.seq]; rec != nil {
			n = len(rec.ids)
		}
		if r.retried() {
			a.retried++
		}
		by := r.answeredBy()
		switch {
		case by == "":
			a.unanswered++
			if n > 0 {
				a.unansweredRecorded++
			}
			if n == 2 && r.retried() {
				a.recordedTwice++
			} else if n > 1 {
				a.tooMany = append(a.tooMany, r.seq)
			}
		case r.code == http.StatusServiceUnavailable && r.kind == kindClick && n == 0:
			a.answered++
			a.refusedClicks++
		case r.code == http.StatusServiceUnavailable && (r.kind == kindPostback || r.kind == kindLead):
			a.answered++
			a.refused[names[by]]++
			if n != 0 {
				a.tooMany = append(a.tooMany, r.seq)
			}
		default:
			a.answered++
			switch {
			case n == 0:
				a.lost[names[by]]++
			case n == 2 && r.retried():
				a.recordedTwice++ // the first node recorded it, then died before answering
			case n >= 2 && !r.retried():
				a.doubled = append(a.doubled, r.seq)
			case n > 2:
				a.tooMany = append(a.tooMany, r.seq)
			}
		}
		if r.kind == kindPostback && n > 0 {
			rec := rows[r.seq]
			if rec.status == storage.StatusRejected && rec.reason == storage.ReasonUnknownClick {
				if rows[r.click] != nil {
					a.postbacksBeforeClick = append(a.postbacksBeforeClick, r.seq)
				} else {
					a.postbacksOfLostClicks++
				}
			}
		}
	}
	return a
}

// ledgerClient reads the live ledger through the API.
type ledgerClient struct {
	base, token, account string
	client               *http.Client
}

func (l ledgerClient) get(ctx context.Context, path string, v any) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", l.base+"/api/v1/accounts/"+l.account+path, nil)
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

func usd(m map[string]string) (int64, error) {
	if m["USD"] == "" {
		return 0, nil
	}
	v, err := attribution.ParseAmount(m["USD"], "USD")
	return int64(v), err
}

func money(v int64) string { return attribution.FormatAmount(attribution.Micros(v), "USD") }

// compareLedger checks every webinar's sales and revenue and every
// customer's orders and lifetime value against want. It returns the
// report's lines and the mismatches.
func compareLedger(ctx context.Context, l ledgerClient, want ledgerTotals, customers int) ([]string, []string, error) {
	var lines, bad []string
	for w := range webinars {
		var st struct {
			Sales   int64             `json:"sales"`
			Revenue map[string]string `json:"revenue"`
		}
		if code, err := l.get(ctx, fmt.Sprintf("/webinars/w%d/stats", w), &st); err != nil || code != http.StatusOK {
			return nil, nil, fmt.Errorf("cannot read webinar w%d: status %d, %v", w, code, err)
		}
		rev, err := usd(st.Revenue)
		if err != nil {
			return nil, nil, err
		}
		line := fmt.Sprintf("webinar w%d: %d sales, %s USD; expected %d, %s", w, st.Sales, money(rev), want.webinarSales[w], money(want.webinarRevenue[w]))
		if st.Sales != want.webinarSales[w] || rev != want.webinarRevenue[w] {
			line += "  MISMATCH"
			bad = append(bad, line)
		}
		lines = append(lines, line)
	}
	type result struct {
		c           int
		orders, ltv int64
		found       bool
		err         error
	}
	jobs := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				var a struct {
					Orders int64             `json:"orders"`
					LTV    map[string]string `json:"ltv"`
				}
				code, err := l.get(ctx, fmt.Sprintf("/attendees/c%d@drill.example", c), &a)
				r := result{c: c, err: err, found: code == http.StatusOK, orders: a.Orders}
				if err == nil && code != http.StatusOK && code != http.StatusNotFound {
					r.err = fmt.Errorf("status %d", code)
				}
				if r.found && r.err == nil {
					r.ltv, r.err = usd(a.LTV)
				}
				results <- r
			}
		}()
	}
	go func() {
		for c := range customers {
			jobs <- c
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	checked, known := 0, 0
	var attendeeBad []string
	var firstErr error
	for r := range results {
		checked++
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("customer c%d: %w", r.c, r.err)
			}
			continue
		}
		if r.found {
			known++
		}
		if r.orders != want.customerOrders[r.c] || r.ltv != want.customerLTV[r.c] {
			attendeeBad = append(attendeeBad, fmt.Sprintf("attendee c%d: %d orders, LTV %s USD; expected %d, %s  MISMATCH",
				r.c, r.orders, money(r.ltv), want.customerOrders[r.c], money(want.customerLTV[r.c])))
		}
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	sort.Strings(attendeeBad)
	lines = append(lines, fmt.Sprintf("attendees: %d customers checked (%d in the ledger), %d with orders or LTV different from expected",
		checked, known, len(attendeeBad)))
	if len(attendeeBad) > 10 {
		lines = append(lines, attendeeBad[:10]...)
		lines = append(lines, fmt.Sprintf("... and %d more", len(attendeeBad)-10))
	} else {
		lines = append(lines, attendeeBad...)
	}
	return lines, append(bad, attendeeBad...), nil
}

// summary is the audit's report.
func (a audit) summary(reported map[string]uint64) ([]string, bool) {
	ok := true
	var lines []string
	lostTotal, refusedTotal := 0, 0
	for _, n := range a.lost {
		lostTotal += n
	}
	for _, n := range a.refused {
		refusedTotal += n
	}
	lines = append(lines,
		fmt.Sprintf("requests sent %d: answered by pixelpost %d (nginx retried %d on another node), unanswered %d (recorded anyway: %d)",
			a.sent, a.answered, a.retried, a.unanswered, a.unansweredRecorded),
		fmt.Sprintf("rows in ClickHouse %d = answered %d - not recorded %d (answered as usual %d, refused with 503 %d, click links refused with 503 %d) + recorded though unanswered %d + recorded twice by a retry %d",
			a.rows, a.answered, lostTotal+refusedTotal+a.refusedClicks, lostTotal, refusedTotal, a.refusedClicks, a.unansweredRecorded, a.recordedTwice))
	if want := a.answered - lostTotal - refusedTotal - a.refusedClicks + a.unansweredRecorded + a.recordedTwice; want != a.rows {
		ok = false
		lines = append(lines, fmt.Sprintf("  MISMATCH: the requests account for %d rows", want))
	}
	var names []string
	for n := range reported {
		names = append(names, n)
	}
	for n := range a.lost {
		names = append(names, n)
	}
	for n := range a.refused {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		got := uint64(a.lost[n] + a.refused[n])
		line := fmt.Sprintf("%s: %d hits answered but not recorded (log full); the node reported %d lost", n, got, reported[n])
		if got != reported[n] {
			ok = false
			line += "  MISMATCH"
		}
		if got > 0 || reported[n] > 0 {
			lines = append(lines, line)
		}
	}
	if len(a.doubled) > 0 || len(a.tooMany) > 0 {
		ok = false
		lines = append(lines, fmt.Sprintf("DOUBLED: %d requests recorded twice without a retry %v, %d recorded more than they could be %v",
			len(a.doubled), head(a.doubled), len(a.tooMany), head(a.tooMany)))
	} else {
		lines = append(lines, "doubled: 0 (no request recorded under two hits but those nginx sent to two nodes)")
	}
	if a.orphanRows > 0 {
		ok = false
		lines = append(lines, fmt.Sprintf("%d rows of the account carry no request number", a.orphanRows))
	}
	lines = append(lines, fmt.Sprintf("postbacks: %d decided unknown_click because their click was not recorded (lost)", a.postbacksOfLostClicks))
	if len(a.postbacksBeforeClick) > 0 {
		ok = false
		lines = append(lines, fmt.Sprintf("  %d postbacks decided unknown_click though their click was recorded %v", len(a.postbacksBeforeClick), head(a.postbacksBeforeClick)))
	}
	return lines, ok
}

func head(s []int) string {
	if len(s) > 5 {
		return strings.Trim(fmt.Sprint(s[:5]), "[]") + " ..."
	}
	return strings.Trim(fmt.Sprint(s), "[]")
}
