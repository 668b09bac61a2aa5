package testenv

import (
	"sync/atomic"
	"time"
)

// PinnedNow is where every test clock starts: mid-afternoon UTC, far from
// a day boundary in either direction, so that "now - 3 h" is the same day
// at whatever hour the suite runs.
var PinnedNow = time.Date(2026, 6, 18, 14, 42, 0, 0, time.UTC)

// Clock starts at PinnedNow, then moves with real time (which the code
// under test's timers need), plus an offset the test moves forward. Safe
// for concurrent use.
type Clock struct {
	start time.Time // monotonic reading at creation
	off   atomic.Int64
}

// NewClock returns a Clock at PinnedNow.
func NewClock() *Clock { return &Clock{start: time.Now()} }

// Now is PinnedNow plus the real time elapsed and the offset.
func (c *Clock) Now() time.Time {
	return PinnedNow.Add(time.Since(c.start) + time.Duration(c.off.Load()))
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.off.Add(int64(d)) }
