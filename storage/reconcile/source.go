package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// FromWAL reads a rows log from its first record: the order in which this
// node's ledger applied the hits. Damage is skipped (and counted in
// *skipped, when not nil) rather than stopping the fold.
func FromWAL(l *wal.Log, skipped *int) Source {
	return func(ctx context.Context, fn func(h *storage.Hit) error) error {
		r := l.NewReader(l.First())
		defer func() { r.Close() }()
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, _, err := r.Next()
			if err == io.EOF {
				return nil
			}
			var ce *wal.CorruptError
			if errors.As(err, &ce) {
				if skipped != nil {
					*skipped++
				}
				r.Close()
				r = l.NewReader(ce.Resume)
				continue
			}
			if err != nil {
				return fmt.Errorf("cannot read rows log: %w", err)
			}
			h, err := storage.DecodeHit(rec)
			if err != nil {
				if skipped != nil {
					*skipped++
				}
				continue
			}
			if err := fn(&h); err != nil {
				return err
			}
		}
	}
}
