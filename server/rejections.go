package server

import (
	"sync"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// rejection is a tracking hit the server refused, kept so that a user can
// see why a conversion did not count. Raw hits in ClickHouse are the
// durable record; this is the live view of the most recent ones.
type rejection struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Account string    `json:"account"`
	Reason  string    `json:"reason"`
	HitID   string    `json:"hit_id"`
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

// add records a rejected hit (its query is already redacted).
func (l *rejectionLog) add(h *storage.Hit) {
	r := rejection{Time: h.Time, Kind: h.Kind, Account: h.Account, Reason: h.Reason, HitID: h.ID, Query: h.Query}
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
