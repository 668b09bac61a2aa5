package embedded

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// maxIDLen bounds every id used in a key; bolt's limit is 32 KiB per key.
const maxIDLen = decide.MaxIDLen

// Apply applies ops in order in one write transaction (one fsync): the
// rules are decide's, each account's ops decided by one decide.Txn reading
// this file (view.go), and the writes they decide made in the same
// transaction (write.go). Bolt serialises write transactions, so a Txn's
// reads never go stale. On error the transaction is rolled back: nothing
// of the batch was applied.
func (l *Ledger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	results := make([]storage.Result, len(ops))
	if len(ops) == 0 {
		if l.closed.Load() {
			return nil, ErrClosed
		}
		return results, nil
	}
	err := l.update(ctx, func(tx *bolt.Tx) error {
		t := newTxn(tx)
		t.sizeHint = len(ops)
		for i := range ops {
			op := &ops[i]
			d := t.decider(op.Account)
			r, err := d.Apply(op)
			if err != nil {
				return fmt.Errorf("op %d (hit %q): %w", i, op.HitID, err)
			}
			results[i] = r
			if r.Reason != decide.ReasonInvalidOp && r.Reason != storage.ReasonUnknownAccount {
				t.noteDay(op.Time)
			}
		}
		for account, d := range t.deciders {
			if err := t.write(account, d.Changes()); err != nil {
				return err
			}
		}
		return t.prune()
	})
	switch {
	case err == nil:
		return results, nil
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	default:
		return nil, fmt.Errorf("cannot apply batch of %d ops: %w: %w", len(ops), storage.ErrUnavailable, err)
	}
}

// txn is the state of one write transaction.
type txn struct {
	tx       *bolt.Tx
	hits     *bolt.Bucket // remembered hit ids of earlier builds (hits.go)
	hitDays  *bolt.Bucket
	newest   int64 // the newest day of any op applied, ever
	newestUp bool  // newest changed in this transaction
	deciders map[string]*decide.Txn
	sizeHint int // ops of the batch
}

func newTxn(tx *bolt.Tx) *txn {
	t := &txn{
		tx:       tx,
		hits:     tx.Bucket(bucketHits),
		hitDays:  tx.Bucket(bucketHitDays),
		deciders: map[string]*decide.Txn{},
	}
	if v := tx.Bucket(bucketMeta).Get(keyNewestDay); len(v) == 8 {
		t.newest = timeFromKey(v)
	}
	return t
}

// decider returns the account's decide.Txn of this transaction.
func (t *txn) decider(account string) *decide.Txn {
	d := t.deciders[account]
	if d == nil {
		d = decide.NewSized(t.view(account), t.sizeHint)
		t.deciders[account] = d
	}
	return d
}

func (t *txn) view(account string) *view {
	b, ok := openAccount(t.tx, account)
	return &view{t: t, account: account, b: b, ok: ok}
}
