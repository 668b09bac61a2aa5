package meta

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxIdle bounds the dispatcher's sleep: it looks at the datasets at least
// this often (an in-memory scan), whatever the clock does.
const maxIdle = 250 * time.Millisecond

// item is a pending event loaded for a request.
type item struct {
	key []byte // in the events bucket
	seq uint64 // in the queue bucket
	rec eventRec
}

// Run sends pending events until ctx ends or Close is called, then cancels
// the requests under way (their events stay pending, nothing recorded),
// waits for them and returns nil. Events left pending by an earlier process
// are sent too. Only one Run at a time: ErrRunning; after Close: ErrClosed.
func (f *Forwarder) Run(ctx context.Context) error {
	done, err := f.life.Start(ErrClosed, ErrRunning)
	if err != nil {
		return err
	}
	defer done()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	for {
		due, wait := f.due(f.now())
		for _, k := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.flush(ctx, k)
				f.stMu.Lock()
				f.states[k].busy = false
				f.stMu.Unlock()
				f.poke()
			}()
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-f.life.Closing():
			return nil
		case <-f.wake:
		case <-timer.C:
		case <-prune.C:
			if n, err := f.Prune(ctx, f.now().Add(-f.cfg.KeepFor)); err != nil {
				f.log.Error().Err(err).Msg("meta: cannot prune old events")
			} else if n > 0 {
				f.log.Info().Int("events", n).Msg("meta: pruned events past their keep time")
			}
		}
	}
}

// due marks busy and returns the datasets to flush now, at most as many as
// there are free workers, and how long to sleep before the next one is due.
// A dataset is due when it has pending events, is neither paused nor
// switched off, and either has a full batch or its oldest event has waited
// FlushDelay.
func (f *Forwarder) due(now time.Time) ([]dsKey, time.Duration) {
	f.stMu.Lock()
	defer f.stMu.Unlock()
	busy := 0
	for _, s := range f.states {
		if s.busy {
			busy++
		}
	}
	free := f.cfg.Workers - busy
	wait := maxIdle
	var out []dsKey
	for k, s := range f.states {
		if s.pending <= 0 || s.busy || s.off {
			continue
		}
		at := s.since.Add(f.cfg.FlushDelay)
		if s.pending >= MaxBatch {
			at = time.Time{}
		}
		if s.PausedUntil.After(at) {
			at = s.PausedUntil
		}
		if at.After(now) {
			wait = min(wait, at.Sub(now))
			continue
		}
		if free == 0 {
			continue // a finishing flush pokes
		}
		s.busy = true
		out = append(out, k)
		free--
	}
	return out, max(wait, time.Millisecond)
}

// flush sends one batch of a dataset's pending events (split as needed).
// The caller has marked the dataset busy: no other flush of it runs.
func (f *Forwarder) flush(ctx context.Context, k dsKey) {
	now := f.now()
	var d Dataset
	var items, expired, stale []item
	err := f.db.View(func(tx *bolt.Tx) error {
		b := dsBucket(tx, k.account, k.id)
		if b == nil {
			return ErrNotFound
		}
		var err error
		if d, err = getDataset(tx, k.account, k.id); err != nil {
			return err
		}
		evb := b.Bucket(bucketEvents)
		c := b.Bucket(bucketQueue).Cursor()
		for qk, ek := c.First(); qk != nil && len(items) < MaxBatch; qk, ek = c.Next() {
			v := evb.Get(ek)
			if v == nil {
				continue
			}
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			it := item{key: slices.Clone(ek), seq: bytesToSeq(qk), rec: r}
			switch {
			case r.Status != StatusPending || r.Seq != it.seq:
				// A leftover entry: settle drops it and skips the record.
				stale = append(stale, it)
			case now.Sub(r.EventTime) > f.cfg.MaxAge:
				expired = append(expired, it)
			default:
				items = append(items, it)
			}
		}
		return nil
	})
	if err != nil {
		f.log.Error().Err(wrap(err)).Str("dataset", k.id).Str("account", k.account).Msg("meta: cannot load pending events")
		f.pause(k, nil, "cannot load pending events: "+err.Error(), f.backoff(f.failures(k)+1))
		return
	}
	if len(stale) > 0 {
		f.settle(k, stale, StatusFailed, "", answer{received: -1}, false)
	}
	if len(expired) > 0 {
		msg := fmt.Sprintf("not sent within %s of its event_time: Meta refuses older events", days(f.cfg.MaxAge))
		if last := f.lastError(k); last != "" {
			msg += " (last error: " + last + ")"
		}
		f.settle(k, expired, StatusFailed, msg, answer{received: -1}, false)
		f.log.Warn().Str("dataset", k.id).Str("account", k.account).Int("events", len(expired)).
			Msg("meta: events too old to send, marked failed")
	}
	// Switched off since due chose it: PutDataset has set off, due skips
	// it from now on.
	if len(items) > 0 && d.sending() {
		f.send(ctx, k, d, items)
	}
}

// send posts items, splitting them on an invalid-batch answer, and records
// the outcomes. It returns false when sending to the dataset must stop: a
// pause (rate limit, 5xx, timeout), a storage error, or Run stopping.
func (f *Forwarder) send(ctx context.Context, k dsKey, d Dataset, items []item) bool {
	a := f.post(ctx, d, items)
	switch a.out {
	case outAborted:
		return false
	case outSent:
		if a.received >= 0 && a.received != int64(len(items)) {
			f.log.Warn().Str("dataset", k.id).Str("account", k.account).Int("sent", len(items)).
				Int64("events_received", a.received).Str("fbtrace_id", a.fbtrace).Msg("meta: Meta counted fewer events than sent")
		}
		return f.settle(k, items, StatusSent, "", a, true)
	case outInvalid:
		if len(items) == 1 {
			f.log.Warn().Str("dataset", k.id).Str("account", k.account).Str("error", a.msg).Msg("meta: event refused")
			return f.settle(k, items, StatusFailed, a.msg, a, true)
		}
		h := len(items) / 2
		return f.send(ctx, k, d, items[:h]) && f.send(ctx, k, d, items[h:])
	case outFailed:
		f.log.Warn().Str("dataset", k.id).Str("account", k.account).Int("events", len(items)).Str("error", a.msg).
			Msg("meta: events failed")
		return f.settle(k, items, StatusFailed, a.msg, a, true)
	case outRateLimited:
		n := f.failures(k) + 1
		wait := max(f.backoff(n), f.cfg.RateLimitWait, min(a.wait, 24*time.Hour))
		f.log.Warn().Str("dataset", k.id).Str("account", k.account).Dur("pause", wait).Str("error", a.msg).
			Msg("meta: rate limited, sending to the dataset paused")
		f.pause(k, items, "rate limited: "+a.msg, wait)
		return false
	default: // outRetry
		n := f.failures(k) + 1
		wait := max(f.backoff(n), min(a.wait, DefaultBackoffMax))
		f.log.Warn().Str("dataset", k.id).Str("account", k.account).Dur("pause", wait).Int("failures", n).
			Str("error", a.msg).Msg("meta: request failed, will retry")
		f.pause(k, items, a.msg, wait)
		return false
	}
}

func (f *Forwarder) failures(k dsKey) int {
	f.stMu.Lock()
	defer f.stMu.Unlock()
	return f.states[k].Failures
}

func (f *Forwarder) lastError(k dsKey) string {
	f.stMu.Lock()
	defer f.stMu.Unlock()
	return f.states[k].LastError
}

// settle records the final status of items (StatusSent or StatusFailed)
// and takes them off the queue; attempted says a request carried them.
// Items no longer pending under their sequence are skipped. It returns false
// on a storage error (logged): the items stay pending and are sent again.
func (f *Forwarder) settle(k dsKey, items []item, status, msg string, a answer, attempted bool) bool {
	now := f.now()
	var removed int
	var st stateRec
	err := f.db.Update(func(tx *bolt.Tx) error {
		removed = 0
		b := dsBucket(tx, k.account, k.id)
		if b == nil {
			return ErrNotFound
		}
		evb, q := b.Bucket(bucketEvents), b.Bucket(bucketQueue)
		for _, it := range items {
			if q.Get(seqKey(it.seq)) == nil {
				continue
			}
			if err := q.Delete(seqKey(it.seq)); err != nil {
				return err
			}
			removed++
			v := evb.Get(it.key)
			if v == nil {
				continue
			}
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			if r.Status != StatusPending || r.Seq != it.seq {
				continue
			}
			r.Status, r.Error, r.UpdatedAt, r.Seq = status, msg, now, 0
			if attempted {
				r.Attempts++
				r.FBTraceID = a.fbtrace
			}
			if status == StatusSent {
				r.SentAt = now
			}
			if err := putJSON(evb, it.key, r); err != nil {
				return err
			}
		}
		var err error
		if st, err = getState(b); err != nil {
			return err
		}
		if status == StatusSent {
			st.PausedUntil, st.Failures, st.LastError = time.Time{}, 0, ""
			st.LastSentAt, st.LastFBTraceID = now, a.fbtrace
			if a.received > 0 {
				st.EventsReceived += a.received
			}
		}
		return putJSON(b, keyState, st)
	})
	if err != nil {
		// The items stay pending: pause rather than resend them at once.
		f.log.Error().Err(wrap(err)).Str("dataset", k.id).Str("account", k.account).Msg("meta: cannot record sent events")
		f.pause(k, nil, "cannot record the answer: "+wrap(err).Error(), max(f.backoff(f.failures(k)+1), time.Second))
		return false
	}
	f.stMu.Lock()
	s := f.states[k]
	s.pending -= removed
	s.stateRec = st
	f.stMu.Unlock()
	return true
}

// pause stops sending to a dataset for wait, durably (a restart honours
// it), and records msg as the last error of the dataset and of items,
// which stay pending.
func (f *Forwarder) pause(k dsKey, items []item, msg string, wait time.Duration) {
	now := f.now()
	f.stMu.Lock()
	s := f.states[k]
	s.Failures++
	s.LastError = msg
	s.PausedUntil = now.Add(wait)
	st := s.stateRec
	f.stMu.Unlock()
	err := f.db.Update(func(tx *bolt.Tx) error {
		b := dsBucket(tx, k.account, k.id)
		if b == nil {
			return ErrNotFound
		}
		evb := b.Bucket(bucketEvents)
		for _, it := range items {
			v := evb.Get(it.key)
			if v == nil {
				continue
			}
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			if r.Status != StatusPending || r.Seq != it.seq {
				continue
			}
			r.Attempts++
			r.Error, r.UpdatedAt = msg, now
			if err := putJSON(evb, it.key, r); err != nil {
				return err
			}
		}
		old, err := getState(b)
		if err != nil {
			return err
		}
		st.EventsReceived, st.LastFBTraceID, st.LastSentAt = old.EventsReceived, old.LastFBTraceID, old.LastSentAt
		return putJSON(b, keyState, st)
	})
	if err != nil {
		// The pause holds in memory; only its record after a restart is lost.
		f.log.Error().Err(wrap(err)).Str("dataset", k.id).Str("account", k.account).Msg("meta: cannot record pause")
	}
}
