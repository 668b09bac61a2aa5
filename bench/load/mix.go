// Package load drives pixelpost (or any pixel server) with a realistic mix
// of hits, measures it, and checks that the books balance afterwards: every
// hit answered is a row in ClickHouse and the ledger's totals are exactly
// those the mix implies.
package load

import (
	"fmt"
	"strconv"
)

// The mix, by request index i (deterministic, so that the expected totals
// follow from the number of requests sent):
//
//	i%10 in 0..6  a new order on a thank-you page: webinar w(i%4), 49.99 USD
//	i%10 in 7, 8  a refresh of order i-7 (the same query again)
//	i%10 == 9     a recurring charge by the shop's backend for the customer
//	              of order i-recurringLag: no webinar, 19.99 USD, credited
//	              by the ledger to that customer's acquisition webinar
//
// A recurring charge names a customer whose first order was sent long
// before (recurringLag requests), so that it was answered, and applied in
// log order, before the charge. Earlier indexes are new orders instead.
const (
	webinars     = 4
	recurringLag = 20009 // ≡ 9 (mod 10): i - recurringLag is a new order
	saleMicros   = 49_990_000
	renewMicros  = 19_990_000
)

// Kind of request i.
type Kind int

const (
	New Kind = iota
	Refresh
	Recurring
)

// Mix builds the requests of one run against one account.
type Mix struct {
	Base    string // http://host:port
	Account string
	Run     string // unique per run: order ids never collide across runs
}

// KindOf returns what request i is and, for refreshes and recurring
// charges, the index of the new order it refers to.
func KindOf(i int) (Kind, int) {
	switch r := i % 10; {
	case r <= 6:
		return New, i
	case r <= 8:
		return Refresh, i - 7 // i%10 of i-7 is 0 or 1: a new order
	default:
		if i >= recurringLag {
			return Recurring, i - recurringLag
		}
		return New, i
	}
}

// URL of request i (appended to dst).
func (m *Mix) URL(dst []byte, i int) []byte {
	dst = append(dst, m.Base...)
	dst = append(dst, "/v1/conversion/pixel/"...)
	dst = append(dst, m.Account...)
	k, j := KindOf(i)
	switch k {
	case Recurring:
		dst = append(dst, "?email=c"...)
		dst = strconv.AppendInt(dst, int64(j), 10)
		dst = append(dst, "%40bench.example&amount=19.99&currency=USD&orderId="...)
		dst = append(dst, m.Run...)
		dst = append(dst, "-r"...)
		return strconv.AppendInt(dst, int64(i), 10)
	default: // New, and Refresh of order j
		dst = append(dst, "?webinarId=w"...)
		dst = strconv.AppendInt(dst, int64(j%webinars), 10)
		dst = append(dst, "&email=c"...)
		dst = strconv.AppendInt(dst, int64(j), 10)
		dst = append(dst, "%40bench.example&amount=49.99&currency=USD&orderId="...)
		dst = append(dst, m.Run...)
		dst = append(dst, '-')
		return strconv.AppendInt(dst, int64(j), 10)
	}
}

// Totals are the ledger figures of one webinar.
type Totals struct {
	Sales   int64
	Revenue int64 // micro-units of USD
}

// Expected returns each webinar's totals after requests 0..n-1 (all of
// them answered).
func Expected(n int) map[string]Totals {
	out := make(map[string]Totals, webinars)
	for i := range n {
		k, j := KindOf(i)
		w := fmt.Sprint("w", j%webinars)
		t := out[w]
		switch k {
		case New:
			t.Sales++
			t.Revenue += saleMicros
		case Recurring:
			t.Sales++
			t.Revenue += renewMicros
		}
		out[w] = t
	}
	return out
}
