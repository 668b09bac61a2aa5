package embedded

import (
	"bytes"
	bolt "go.etcd.io/bbolt"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Earlier builds remembered every applied hit id, in "hits" (for the
// lookup) and in a bucket per day of the op's Time under "hitdays" (for
// forgetting a whole day); this one recognises replays by log position
// (decide) and only looks those ids up for hits recorded before their log
// had an id (storage.Op.CheckHitID). They are still forgotten as before:
// a day once an op more than retentionDays+1 days newer has been applied,
// a few thousand ids per Apply, so the buckets empty themselves. The
// ledger never reads the clock.
const (
	secondsPerDay = int64(24 * time.Hour / time.Second)
	retentionDays = int64((storage.HitRetention + 24*time.Hour - 1) / (24 * time.Hour))
	// keepDays adds a day of slack for ops whose times differ by node.
	keepDays = retentionDays + 1
	// pruneBudget caps the ids forgotten by one Apply.
	pruneBudget = 4096
)

// dayOf is the UTC day number of t (days since 1970-01-01, floored).
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return d
}

func dayKey(d int64) []byte { return appendTimeKey(make([]byte, 0, 64), d) }

// dayKeyLen is the length of a day key, the prefix of a hit id's value.
const dayKeyLen = 8

// noteDay keeps the newest day of any op applied: hit ids of earlier
// builds and clicks are dropped by op times, not the clock.
func (t *txn) noteDay(at time.Time) {
	if day := dayOf(at); day > t.newest {
		t.newest, t.newestUp = day, true
	}
}

// prune forgets, pruneBudget entries at most, hit ids of days older than
// the retention and then clicks past their window and grace (pruneClicks),
// oldest day first.
func (t *txn) prune() error {
	if t.newestUp {
		if err := t.tx.Bucket(bucketMeta).Put(keyNewestDay, dayKey(t.newest)); err != nil {
			return err
		}
	}
	budget, err := forgetDays(t.hitDays, t.newest-keepDays, pruneBudget, func(hk, dk []byte) error {
		if v := t.hits.Get(hk); len(v) >= dayKeyLen && bytes.Equal(v[:dayKeyLen], dk) {
			return t.hits.Delete(hk)
		}
		return nil
	}, nil)
	if err != nil || budget == 0 {
		return err
	}
	return t.pruneClicks(budget)
}

// forgetDays walks the day buckets of days (keyed by dayKey) older than
// cutoff, oldest first, handing up to budget of their keys to drop (with
// the day's key) and deleting them; an emptied day bucket is deleted and
// handed to gone. It returns the budget left.
func forgetDays(days *bolt.Bucket, cutoff int64, budget int, drop func(k, dk []byte) error, gone func(day int64)) (int, error) {
	for budget > 0 {
		k, _ := days.Cursor().First()
		if k == nil || timeFromKey(k) >= cutoff {
			return budget, nil
		}
		dk := bytes.Clone(k)
		day := days.Bucket(dk)
		var keys [][]byte
		c := day.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < budget; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := drop(k, dk); err != nil {
				return 0, err
			}
			if err := day.Delete(k); err != nil {
				return 0, err
			}
		}
		budget -= len(keys)
		if k, _ := day.Cursor().First(); k != nil {
			return 0, nil // budget spent mid-day: the next Apply goes on
		}
		if gone != nil {
			gone(timeFromKey(dk))
		}
		if err := days.DeleteBucket(dk); err != nil {
			return 0, err
		}
	}
	return budget, nil
}
