package embedded

import (
	"bytes"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Applied hit ids are remembered in "hits" (for the lookup) and in a bucket
// per day of the op's Time under "hitdays" (for forgetting a whole day). The
// ledger never reads the clock: a day is forgotten once an op more than
// retentionDays+1 days newer has been applied, a few thousand ids per Apply
// so that no single batch pays for a whole day. A replay of a forgotten id
// is applied again, as a new hit: that is what retention means.
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

// remember records an applied hit id under its day.
func (t *txn) remember(hk []byte, day int64) error {
	dk := dayKey(day)
	if err := t.hits.Put(hk, dk); err != nil {
		return err
	}
	b := t.days[day]
	if b == nil {
		var err error
		if b, err = t.hitDays.CreateBucketIfNotExists(dk); err != nil {
			return err
		}
		t.days[day] = b
	}
	if err := b.Put(hk, empty); err != nil {
		return err
	}
	if day > t.newest {
		t.newest, t.newestUp = day, true
	}
	return nil
}

// prune forgets up to pruneBudget hit ids of days older than the retention,
// oldest day first.
func (t *txn) prune() error {
	if t.newestUp {
		if err := t.tx.Bucket(bucketMeta).Put(keyNewestDay, dayKey(t.newest)); err != nil {
			return err
		}
	}
	cutoff := t.newest - keepDays
	budget := pruneBudget
	for budget > 0 {
		k, _ := t.hitDays.Cursor().First()
		if k == nil || timeFromKey(k) >= cutoff {
			return nil
		}
		dk := bytes.Clone(k)
		day := t.hitDays.Bucket(dk)
		var ids [][]byte
		c := day.Cursor()
		for hk, _ := c.First(); hk != nil && len(ids) < budget; hk, _ = c.Next() {
			ids = append(ids, bytes.Clone(hk))
		}
		for _, hk := range ids {
			if v := t.hits.Get(hk); len(v) >= dayKeyLen && bytes.Equal(v[:dayKeyLen], dk) {
				if err := t.hits.Delete(hk); err != nil {
					return err
				}
			}
			if err := day.Delete(hk); err != nil {
				return err
			}
		}
		budget -= len(ids)
		if k, _ := day.Cursor().First(); k != nil {
			return nil // budget spent mid-day: the next Apply goes on
		}
		delete(t.days, timeFromKey(dk))
		if err := t.hitDays.DeleteBucket(dk); err != nil {
			return err
		}
	}
	return nil
}
