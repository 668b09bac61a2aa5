package clickhouse

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry bounds of the Shipper while ClickHouse refuses inserts.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// ExpBackoff returns the delay before retry attempt (0-based): min doubled
// per attempt, capped at max, with "equal jitter" (a random value between
// half and all of it) so that many shippers restarted together do not
// retry in step.
func ExpBackoff(minD, maxD time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := maxD
		if attempt < 32 {
			d = min(minD<<attempt, maxD)
		}
		half := d / 2
		return half + rand.N(half+1)
	}
}

// sleep waits d or until ctx ends (returning its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
