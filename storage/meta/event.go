package meta

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// States of a stored event.
const (
	StatusPending  = "pending"  // queued, not yet accepted by Meta
	StatusSent     = "sent"     // Meta answered 2xx for a request holding it; never sent again
	StatusFailed   = "failed"   // Meta refused it, or it became too old; see Error and RetryFailed
	StatusRejected = "rejected" // refused by Enqueue's validation; see Error
)

// Outcomes of Enqueue for one event.
const (
	ResultQueued    = "queued"    // stored as pending
	ResultDuplicate = "duplicate" // its (lead_id, event_name) is already pending or sent
	ResultRejected  = "rejected"  // invalid: see Reason
)

// Validation limits.
const (
	minLeadIDLen = 15
	maxLeadIDLen = 17
	maxNameLen   = 100
	// futureSlack is how far in the future an event_time may be: CRM and
	// server clocks disagree by seconds, sometimes minutes.
	futureSlack = 5 * time.Minute
	// warnAgeMargin: Diagnostics warns about pending events this close to
	// MaxAge.
	warnAgeMargin = 24 * time.Hour
)

// Event is one lead reaching one stage of the CRM funnel.
type Event struct {
	// LeadID is Meta's lead id (from a lead ad form): 15 to 17 digits.
	LeadID string
	// EventName is the funnel stage ("Lead", "Qualified", "Converted"): 1
	// to 100 characters; surrounding spaces are dropped.
	EventName string
	// EventTime is when the lead reached the stage; sent as unix seconds.
	EventTime time.Time
	// LeadEventSource is the CRM's name; "": the dataset's LeadEventSource.
	LeadEventSource string
}

// EnqueueResult is what Enqueue did with one event.
type EnqueueResult struct {
	LeadID    string `json:"lead_id"`
	EventName string `json:"event_name"`
	Status    string `json:"status"`           // ResultQueued, ResultDuplicate or ResultRejected
	Reason    string `json:"reason,omitempty"` // why it was rejected, or what it duplicates
}

// StoredEvent is an event as stored, for lists and the API.
type StoredEvent struct {
	Account         string    `json:"account"`
	DatasetID       string    `json:"dataset_id"`
	LeadID          string    `json:"lead_id"`
	EventName       string    `json:"event_name"`
	EventTime       time.Time `json:"event_time,omitzero"`
	LeadEventSource string    `json:"lead_event_source,omitempty"`
	Status          string    `json:"status"`
	// Error is Meta's message for a failed event, the reason of a rejected
	// one, or the last transient error of a pending one.
	Error      string    `json:"error,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
	Attempts   int       `json:"attempts"`             // requests that carried it
	FBTraceID  string    `json:"fbtrace_id,omitempty"` // Meta's trace id of the request that settled it
}

// check validates e for dataset d at now and returns it as a pending record,
// or the reason it is rejected.
func (f *Forwarder) check(e Event, d Dataset, now time.Time) (eventRec, string) {
	lead := strings.TrimSpace(e.LeadID)
	name := strings.TrimSpace(e.EventName)
	src := strings.TrimSpace(e.LeadEventSource)
	if src == "" {
		src = d.LeadEventSource
	}
	switch {
	case len(lead) < minLeadIDLen || len(lead) > maxLeadIDLen || !allDigits(lead):
		return eventRec{}, fmt.Sprintf("lead_id must be %d to %d digits", minLeadIDLen, maxLeadIDLen)
	case name == "":
		return eventRec{}, "event_name (the stage) is missing"
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLen:
		return eventRec{}, fmt.Sprintf("event_name must be valid UTF-8 of at most %d characters", maxNameLen)
	case e.EventTime.IsZero():
		return eventRec{}, "event_time is missing"
	case e.EventTime.After(now.Add(futureSlack)):
		return eventRec{}, "event_time is in the future"
	case now.Sub(e.EventTime) > f.cfg.MaxAge:
		return eventRec{}, fmt.Sprintf("event_time is more than %s old: Meta refuses it", days(f.cfg.MaxAge))
	case src == "":
		return eventRec{}, "lead_event_source (the CRM name) is missing, on the event and on the dataset"
	case !utf8.ValidString(src) || len(src) > maxNameLen:
		return eventRec{}, fmt.Sprintf("lead_event_source must be valid UTF-8 of at most %d bytes", maxNameLen)
	}
	return eventRec{
		LeadID:          lead,
		EventName:       name,
		EventTime:       e.EventTime.Truncate(time.Second).UTC(),
		LeadEventSource: src,
		Status:          StatusPending,
		EnqueuedAt:      now,
		UpdatedAt:       now,
	}, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// days formats a duration of whole days as "7 days".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", n)
		}
	}
	return d.String()
}

// Enqueue validates events for a dataset and stores the valid ones as
// pending, durably (committed and fsync'd) before it returns: the caller
// may then acknowledge them. The results are in the order of events.
//
// An invalid event is rejected with its reason (and kept, for the list of
// rejected events); the others are stored all the same. An event whose
// (lead_id, event_name) is already pending or sent for the dataset is a
// duplicate and is not sent again (SPEC §1.6), including a second one in
// the same call; one whose earlier copy failed is queued anew.
//
// The error is about the call, not the events: ErrNotFound for an unknown
// dataset, ErrClosed, ctx's error, storage errors; then nothing was stored.
// Concurrent calls share commits.
func (f *Forwarder) Enqueue(ctx context.Context, account, datasetID string, events []Event) ([]EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.life.Closed() {
		return nil, ErrClosed
	}
	k := dsKey{account, datasetID}
	f.stMu.Lock()
	known := f.states[k] != nil
	f.stMu.Unlock()
	if !known {
		return nil, ErrNotFound
	}
	now := f.now()
	res := make([]EnqueueResult, len(events))
	var queued int
	err := f.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this twice (alone after a failed batch): start over.
		queued = 0
		b := dsBucket(tx, account, datasetID)
		if b == nil {
			return ErrNotFound
		}
		d, err := getDataset(tx, account, datasetID)
		if err != nil {
			return err
		}
		evb, q, rej := b.Bucket(bucketEvents), b.Bucket(bucketQueue), b.Bucket(bucketRejected)
		// In time order, so that a CRM listing a lead's stages out of order
		// in one request is not refused for it (before_first_event).
		order := make([]int, len(events))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return events[order[a]].EventTime.Before(events[order[b]].EventTime) })
		for _, i := range order {
			e := events[i]
			rec, reason := f.check(e, d, now)
			if reason != "" {
				res[i] = EnqueueResult{LeadID: e.LeadID, EventName: e.EventName, Status: ResultRejected, Reason: reason}
				if err := putRejected(rej, e, reason, now); err != nil {
					return err
				}
				continue
			}
			ek := eventKey(rec.LeadID, rec.EventName)
			res[i] = EnqueueResult{LeadID: rec.LeadID, EventName: rec.EventName, Status: ResultQueued}
			if v := evb.Get(ek); v != nil {
				prev, err := decode[eventRec](v, "event")
				if err != nil {
					return err
				}
				if prev.Status != StatusFailed {
					res[i].Status, res[i].Reason = ResultDuplicate, "already "+prev.Status
					continue
				}
			}
			if first, ok, err := firstEvent(evb, rec.LeadID, rec.EventName); err != nil {
				return err
			} else if ok && rec.EventTime.Before(first) {
				// SPEC §1.6: a stage cannot come before the lead's first
				// event (a clock or mapping error on the CRM's side).
				res[i] = EnqueueResult{LeadID: e.LeadID, EventName: e.EventName, Status: ResultRejected, Reason: ReasonBeforeFirstEvent}
				if err := putRejected(rej, e, ReasonBeforeFirstEvent, now); err != nil {
					return err
				}
				continue
			}
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			rec.Seq = seq
			if err := putJSON(evb, ek, rec); err != nil {
				return err
			}
			if err := q.Put(seqKey(seq), ek); err != nil {
				return err
			}
			queued++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot enqueue meta events for dataset %s: %w", datasetID, wrap(err))
	}
	if queued > 0 {
		f.stMu.Lock()
		s := f.states[k]
		if s.pending == 0 {
			s.since = now
		}
		s.pending += queued
		f.stMu.Unlock()
		f.poke()
	}
	return res, nil
}

// ReasonBeforeFirstEvent rejects an event older than the first event stored
// for its lead (another stage).
const ReasonBeforeFirstEvent = "before_first_event"

// firstEvent returns the earliest event time stored for a lead, other
// stages than stage only (a stage's own copy is a duplicate, not an
// ordering problem), and whether there is one.
func firstEvent(evb *bolt.Bucket, leadID, stage string) (time.Time, bool, error) {
	prefix := lp(nil, leadID)
	var first time.Time
	found := false
	c := evb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if string(k[len(prefix):]) == stage {
			continue
		}
		rec, err := decode[eventRec](v, "event")
		if err != nil {
			return time.Time{}, false, err
		}
		if rec.Status == StatusFailed {
			continue
		}
		if !found || rec.EventTime.Before(first) {
			first, found = rec.EventTime, true
		}
	}
	return first, found, nil
}

// putRejected keeps a rejected event, dropping the oldest past
// maxRejectedKept.
func putRejected(rej *bolt.Bucket, e Event, reason string, now time.Time) error {
	seq, err := rej.NextSequence()
	if err != nil {
		return err
	}
	r := eventRec{
		LeadID:          clip(e.LeadID, 64),
		EventName:       clip(e.EventName, 4*maxNameLen),
		EventTime:       e.EventTime,
		LeadEventSource: clip(e.LeadEventSource, 4*maxNameLen),
		Status:          StatusRejected,
		Error:           reason,
		EnqueuedAt:      now,
		UpdatedAt:       now,
	}
	if err := putJSON(rej, seqKey(seq), r); err != nil {
		return err
	}
	c := rej.Cursor()
	for k, _ := c.First(); k != nil && len(k) == 8 && seq-bytesToSeq(k) >= maxRejectedKept; k, _ = c.Next() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func bytesToSeq(k []byte) uint64 {
	var n uint64
	for _, c := range k {
		n = n<<8 | uint64(c)
	}
	return n
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// MaxEventsPage is the most events one call of Events or EventsPage returns.
const MaxEventsPage = 1000

// Events lists a dataset's events with the given status (StatusPending,
// StatusSent, StatusFailed, StatusRejected; "" for all), newest first, at
// most limit (≤ 0: 100; at most MaxEventsPage). It scans the dataset's
// events. Errors: ErrInvalid for an unknown status, ErrNotFound, ErrClosed.
func (f *Forwarder) Events(ctx context.Context, account, datasetID, status string, limit int) ([]StoredEvent, error) {
	evs, _, err := f.EventsPage(ctx, account, datasetID, status, 0, limit)
	return evs, err
}

// EventsPage is Events from the offset-th event on, and whether more
// follow. Offsets count in the newest-first order, so events that arrive
// between two pages shift the later ones (a page may repeat an event).
func (f *Forwarder) EventsPage(ctx context.Context, account, datasetID, status string, offset, limit int) ([]StoredEvent, bool, error) {
	switch status {
	case "", StatusPending, StatusSent, StatusFailed, StatusRejected:
	default:
		return nil, false, fmt.Errorf("%w: unknown event status %q", ErrInvalid, status)
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxEventsPage)
	offset = max(offset, 0)
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	out := []StoredEvent{}
	add := func(r eventRec) {
		out = append(out, StoredEvent{
			Account: account, DatasetID: datasetID,
			LeadID: r.LeadID, EventName: r.EventName, EventTime: r.EventTime, LeadEventSource: r.LeadEventSource,
			Status: r.Status, Error: r.Error, EnqueuedAt: r.EnqueuedAt, UpdatedAt: r.UpdatedAt, SentAt: r.SentAt,
			Attempts: r.Attempts, FBTraceID: r.FBTraceID,
		})
	}
	err := f.db.View(func(tx *bolt.Tx) error {
		b := dsBucket(tx, account, datasetID)
		if b == nil {
			return ErrNotFound
		}
		if status == "" || status == StatusRejected {
			// Newest first already: the latest offset+limit+1 are enough.
			c := b.Bucket(bucketRejected).Cursor()
			n := 0
			for k, v := c.Last(); k != nil && n < offset+limit+1; k, v = c.Prev() {
				r, err := decode[eventRec](v, "rejected event")
				if err != nil {
					return err
				}
				add(r)
				n++
			}
		}
		if status == StatusRejected {
			return nil
		}
		return b.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			if status == "" || r.Status == status {
				add(r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, false, wrap(err)
	}
	slices.SortStableFunc(out, func(a, b StoredEvent) int {
		return cmp.Or(b.EnqueuedAt.Compare(a.EnqueuedAt), b.UpdatedAt.Compare(a.UpdatedAt),
			cmp.Compare(a.LeadID, b.LeadID), cmp.Compare(a.EventName, b.EventName))
	})
	if offset >= len(out) {
		return []StoredEvent{}, false, nil
	}
	out = out[offset:]
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// RetryFailed queues a dataset's failed events again (after a fixed access
// token, say), except those now too old for Meta, and returns how many it
// queued. Errors: ErrNotFound, ErrClosed, storage errors.
func (f *Forwarder) RetryFailed(ctx context.Context, account, datasetID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if f.life.Closed() {
		return 0, ErrClosed
	}
	now := f.now()
	var queued int
	err := f.db.Update(func(tx *bolt.Tx) error {
		b := dsBucket(tx, account, datasetID)
		if b == nil {
			return ErrNotFound
		}
		evb, q := b.Bucket(bucketEvents), b.Bucket(bucketQueue)
		type item struct {
			k []byte
			r eventRec
		}
		var todo []item
		err := evb.ForEach(func(k, v []byte) error {
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			if r.Status == StatusFailed && now.Sub(r.EventTime) <= f.cfg.MaxAge {
				todo = append(todo, item{slices.Clone(k), r})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range todo {
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			it.r.Status, it.r.Seq, it.r.UpdatedAt = StatusPending, seq, now
			if err := putJSON(evb, it.k, it.r); err != nil {
				return err
			}
			if err := q.Put(seqKey(seq), it.k); err != nil {
				return err
			}
		}
		queued = len(todo)
		return nil
	})
	if err != nil {
		return 0, wrap(err)
	}
	if queued > 0 {
		f.stMu.Lock()
		if s := f.states[dsKey{account, datasetID}]; s != nil {
			if s.pending == 0 {
				s.since = now
			}
			s.pending += queued
		}
		f.stMu.Unlock()
		f.poke()
	}
	return queued, nil
}
