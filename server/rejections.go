package server

import (
	"container/list"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// Sizes of the live lists of refused hits. Memory is bounded whatever the
// traffic: at most rejectionAccounts rings of rejectionsPerAccount, plus
// one ring of unknownRejections for hits naming no known account (a query
// is at most 2 KiB, so about 30 MiB at the very worst, far less in
// practice).
const (
	rejectionsPerAccount = 100
	rejectionAccounts    = 128
	unknownRejections    = 1000
	// maxRejectionsLimit caps ?limit= on the lists, like the other list
	// endpoints.
	maxRejectionsLimit = 1000
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

	// Who the hit named, never shown: an erasure forgets their rejections.
	emailSHA256, attendeeID string
}

// rejectionRing is a fixed-size ring of the latest rejections, allocated
// as it fills.
type rejectionRing struct {
	size int
	ring []rejection
	next int // index of the oldest once full
}

func (r *rejectionRing) add(x rejection) {
	if len(r.ring) < r.size {
		r.ring = append(r.ring, x)
		return
	}
	r.ring[r.next] = x
	r.next = (r.next + 1) % r.size
}

// newest lists up to limit rejections, newest first.
func (r *rejectionRing) newest(limit int) []rejection {
	n := min(len(r.ring), limit)
	out := make([]rejection, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// rejectionLog keeps, for each known account, its own last
// rejectionsPerAccount refused hits, so that a flood of refused hits
// elsewhere cannot push an account's out; the accounts with the least
// recent rejections are forgotten beyond rejectionAccounts. Hits naming no
// known account (unknown_account, or a rate-limited hit whose account this
// node does not know) go to a separate ring that only the admin reads.
// Safe for concurrent use.
type rejectionLog struct {
	mu        sync.Mutex
	byAccount map[string]*list.Element // of *accountRejections, most recent at the front
	lru       list.List
	unknown   rejectionRing
}

type accountRejections struct {
	account string
	ring    rejectionRing
}

func newRejectionLog() *rejectionLog {
	return &rejectionLog{byAccount: map[string]*list.Element{}, unknown: rejectionRing{size: unknownRejections}}
}

// add records a rejected hit (its query is already redacted). known says
// whether h.Account names an existing account: the caller decides, so
// that unknown ids never take an account's place.
func (l *rejectionLog) add(h *storage.Hit, known bool) {
	r := rejection{Time: h.Time, Kind: h.Kind, Account: h.Account, Reason: h.Reason, HitID: h.ID, Query: h.Query,
		emailSHA256: h.EmailSHA256, attendeeID: h.AttendeeID}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !known || h.Reason == storage.ReasonUnknownAccount {
		l.unknown.add(r)
		return
	}
	if e, ok := l.byAccount[h.Account]; ok {
		l.lru.MoveToFront(e)
		e.Value.(*accountRejections).ring.add(r)
		return
	}
	if l.lru.Len() >= rejectionAccounts {
		oldest := l.lru.Back()
		delete(l.byAccount, oldest.Value.(*accountRejections).account)
		l.lru.Remove(oldest)
	}
	a := &accountRejections{account: h.Account, ring: rejectionRing{size: rejectionsPerAccount}}
	a.ring.add(r)
	l.byAccount[h.Account] = l.lru.PushFront(a)
}

// forget removes an erased person's rejections from the account's list
// (emailSHA256 or attendeeID: who the hit named) and says how many.
func (l *rejectionLog) forget(account, emailSHA256, attendeeID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byAccount[account]
	if !ok {
		return 0
	}
	r := &e.Value.(*accountRejections).ring
	kept := make([]rejection, 0, len(r.ring))
	for _, x := range r.newest(len(r.ring)) {
		if (emailSHA256 != "" && x.emailSHA256 == emailSHA256) || (attendeeID != "" && x.attendeeID == attendeeID) {
			continue
		}
		kept = append(kept, x)
	}
	n := len(r.ring) - len(kept)
	r.ring, r.next = r.ring[:0], 0
	for i := len(kept) - 1; i >= 0; i-- {
		r.add(kept[i])
	}
	return n
}

// recent lists up to limit of an account's recorded rejections, newest
// first.
func (l *rejectionLog) recent(account string, limit int) []rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byAccount[account]
	if !ok {
		return []rejection{}
	}
	return e.Value.(*accountRejections).ring.newest(limit)
}

// recentUnknown lists up to limit of the rejections that named no known
// account, newest first.
func (l *rejectionLog) recentUnknown(limit int) []rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unknown.newest(limit)
}

// recentRejections lists an account's latest refused hits (?limit=).
func (s *Server) recentRejections(c *fiber.Ctx) error {
	limit, err := rejectionsLimit(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"rejections": s.rejected.recent(account(c).ID, limit)})
}

// unknownRejections lists the latest refused hits that named no known
// account (admin only: they may name other tenants' ids).
func (s *Server) unknownRejections(c *fiber.Ctx) error {
	limit, err := rejectionsLimit(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"rejections": s.rejected.recentUnknown(limit)})
}

// rejectionsLimit reads ?limit= (default and cap maxRejectionsLimit).
func rejectionsLimit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return maxRejectionsLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, errBadRequest("bad_limit", "limit must be a positive integer")
	}
	return min(n, maxRejectionsLimit), nil
}
