package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxIdle bounds the dispatcher's sleep: it rescans the due index at least
// this often, whatever the clock does.
const maxIdle = time.Second

// job is a due delivery handed to a worker.
type job struct{ account, id string }

// Run delivers due deliveries with Config.Workers workers until ctx ends or
// Close is called, then cancels the requests in flight (those deliveries
// stay pending, with no attempt recorded), waits for the workers and
// returns nil. Pending deliveries left by an earlier process are resumed.
// Only one Run at a time: ErrRunning; after Close: ErrClosed.
func (o *Outbox) Run(ctx context.Context) error {
	done, err := o.life.Start(ErrClosed, ErrRunning)
	if err != nil {
		return err
	}
	defer done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, o.cfg.Workers)
	var wg sync.WaitGroup
	for range o.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					o.deliver(ctx, j)
				}
				o.flightMu.Lock()
				delete(o.inFlight, j.id)
				o.flightMu.Unlock()
				o.poke()
			}
		}()
	}
	defer func() {
		cancel()
		close(jobs)
		wg.Wait()
		o.transport.CloseIdleConnections()
	}()

	timer := time.NewTimer(0)
	defer timer.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	for {
		wait, err := o.dispatch(jobs)
		if err != nil {
			o.log.Error().Err(err).Msg("outbox: cannot read due deliveries")
			wait = maxIdle
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-o.life.Closing():
			return nil
		case <-o.wake:
		case <-timer.C:
		case <-prune.C:
			if n, err := o.Prune(ctx, o.now().Add(-o.cfg.KeepFor), 100*pruneBatch); err != nil {
				o.log.Error().Err(err).Msg("outbox: cannot prune the history")
			} else if n > 0 {
				o.log.Info().Int("deliveries", n).Msg("outbox: pruned finished deliveries past their keep time")
			}
		}
	}
}

// dispatch hands due deliveries to free workers, in due order, and returns
// how long to sleep before the next one is due.
func (o *Outbox) dispatch(jobs chan<- job) (time.Duration, error) {
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	free := o.cfg.Workers - len(o.inFlight)
	now := o.now()
	wait := maxIdle
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			at, id, ok := parseDueKey(k)
			if !ok {
				continue
			}
			if at.After(now) {
				wait = min(wait, at.Sub(now))
				return nil
			}
			if _, busy := o.inFlight[id]; busy {
				continue
			}
			if free == 0 {
				return nil // a worker pokes when it is free
			}
			o.inFlight[id] = struct{}{}
			jobs <- job{account: string(v), id: id} // never blocks: free > 0
			free--
		}
		return nil
	})
	return wait, wrap(err)
}

// deliver makes one attempt at a due delivery and records it.
func (o *Outbox) deliver(ctx context.Context, j job) {
	var d Delivery
	err := o.db.View(func(tx *bolt.Tx) error {
		var err error
		d, err = getRecord(tx, j.account, j.id)
		return err
	})
	if err != nil {
		o.log.Error().Err(err).Str("delivery", j.id).Msg("outbox: cannot load delivery")
		return
	}
	if d.Status != StatusPending {
		return
	}
	a, out, wait := o.send(ctx, &d)
	if out == outcomeAborted {
		return
	}
	now := o.now()
	next := now
	if out == outcomeRetry {
		next = now.Add(max(o.backoff(d.Failures+1), min(wait, o.cfg.BackoffMax)))
	}
	var stored Delivery
	var delta counts
	err = o.db.Batch(func(tx *bolt.Tx) error {
		stored, delta = Delivery{}, counts{}
		t := &txn{tx: tx}
		prev, err := getRecord(tx, j.account, j.id)
		if err != nil {
			return err
		}
		if prev.Status != StatusPending {
			return nil
		}
		d := o.applyAttempt(prev, a, out, now, next)
		if err := t.put(&prev, &d); err != nil {
			return err
		}
		t.delta.Attempts++
		stored, delta = d, t.delta
		return t.flush()
	})
	if err != nil {
		o.log.Error().Err(wrap(err)).Str("delivery", j.id).Msg("outbox: cannot record attempt")
		return
	}
	if stored.ID == "" {
		return
	}
	o.addCounts(delta)
	final := stored.Status != StatusPending
	if stored.Status == StatusFailed {
		o.log.Warn().Str("delivery", stored.ID).Str("account", stored.Account).Str("kind", stored.Kind).
			Str("host", hostOf(stored.URL)).Int("attempts", stored.AttemptCount).Str("error", stored.LastAttempt().Error).
			Msg("outbox: delivery failed")
	}
	if o.onResult != nil {
		o.onResult(stored, stored.LastAttempt(), final)
	}
}

// applyAttempt returns d after attempt a, made with outcome out and
// recorded at now; next is when a retry would be due.
func (o *Outbox) applyAttempt(d Delivery, a Attempt, out outcome, now, next time.Time) Delivery {
	d.Attempts = append(d.Attempts, a)
	if n := len(d.Attempts) - maxAttemptsKept; n > 0 {
		d.Attempts = append([]Attempt(nil), d.Attempts[n:]...)
	}
	d.AttemptCount++
	d.UpdatedAt = now
	switch out {
	case outcomeDelivered:
		d.Status, d.NextAt = StatusDelivered, time.Time{}
		return d
	case outcomeRetry:
		d.Failures++
		deadline := d.CreatedAt
		if d.RetriedAt.After(deadline) {
			deadline = d.RetriedAt
		}
		deadline = deadline.Add(o.cfg.MaxAge)
		if now.Before(deadline) {
			if next.After(deadline) {
				next = deadline
			}
			d.NextAt = next
			return d
		}
		d.Attempts[len(d.Attempts)-1].Error += fmt.Sprintf("; giving up after %s", o.cfg.MaxAge)
	default:
		d.Failures++
	}
	d.Status, d.NextAt = StatusFailed, time.Time{}
	return d
}
