package server

import (
	"sync"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// maxRecordedQuery caps the redacted query kept with a rejection.
const maxRecordedQuery = 2048

// rejection is a tracking hit the server refused, kept so that a user can
// see why a conversion did not count. Raw hits in ClickHouse are the
// durable record; this is the live view of the most recent ones.
type rejection struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Account string    `json:"account"`
	Reason  string    `json:"reason"`
	Param   string    `json:"param,omitempty"`
	Query   string    `json:"query"` // email, token and secret values redacted
}

// rejectionLog is a fixed-size ring of the latest rejections of all
// accounts: bounded whatever the traffic, including hits for unknown
// accounts.
type rejectionLog struct {
	mu   sync.Mutex
	ring []rejection
	next int
	full bool
}

func newRejectionLog(size int) *rejectionLog { return &rejectionLog{ring: make([]rejection, size)} }

// add records a rejection; query is redacted and copied.
func (l *rejectionLog) add(t time.Time, kind, account, reason, param string, query []byte) {
	r := rejection{Time: t, Kind: kind, Account: account, Reason: reason, Param: param,
		Query: attribution.RedactQuery(query, maxRecordedQuery)}
	l.mu.Lock()
	l.ring[l.next] = r
	l.next = (l.next + 1) % len(l.ring)
	l.full = l.full || l.next == 0
	l.mu.Unlock()
}

// recent lists an account's recorded rejections, newest first.
func (l *rejectionLog) recent(account string) []rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []rejection{}
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	for i := 1; i <= n; i++ {
		r := l.ring[(l.next-i+len(l.ring))%len(l.ring)]
		if r.Account == account {
			out = append(out, r)
		}
	}
	return out
}
