package outbox

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// backoff is the wait before retry n (n ≥ 1): Config.Backoff, or full jitter.
func (o *Outbox) backoff(n int) time.Duration {
	if o.cfg.Backoff != nil {
		return max(0, o.cfg.Backoff(n))
	}
	return fullJitter(n, o.cfg.BackoffBase, o.cfg.BackoffMax)
}

// fullJitter is a uniformly random duration in [0, min(ceil, base·2^(n-1))]
// ("full jitter": retries of many deliveries to one receiver that failed
// together spread out instead of coming back in waves).
func fullJitter(n int, base, ceil time.Duration) time.Duration {
	limit := ceil
	if n < 1 {
		n = 1
	}
	if shift := n - 1; shift < 62 && base <= ceil>>shift {
		limit = base << shift
	}
	if limit <= 0 {
		return 0
	}
	return rand.N(limit + 1)
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date); 0 when
// absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}
