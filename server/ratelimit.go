package server

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// reasonRateLimited: a client address sent more than --rate-limit requests
// a second to the public endpoints.
const reasonRateLimited = "rate_limited"

// ipLimiter is a token bucket per client address (SPEC §6): rate tokens a
// second, burst at most. Addresses on loopback, private and link-local
// networks are not limited: they are a load balancer or a reverse proxy
// not listed in --trusted-proxies (whose every hit would otherwise share
// one bucket), or your own backends; nobody on the internet can send from
// them. Memory is bounded: a shard that fills up forgets its idle
// addresses, and lets the new ones through unlimited if none is idle.
type ipLimiter struct {
	rate, burst float64
	seed        maphash.Seed
	shards      [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time // the last forgetIdle: at most one a second
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxPerShard bounds the addresses tracked: 64 × 4096 ≈ 262,000.
const maxPerShard = 4096

func newIPLimiter(rate float64) *ipLimiter {
	l := &ipLimiter{rate: rate, burst: max(2*rate, 20), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[netip.Addr]*bucket{}
	}
	return l
}

// allow takes a token of a's bucket at now.
func (l *ipLimiter) allow(a netip.Addr, now time.Time) bool {
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true // no client on the internet to key on
	}
	a = bucketKey(a)
	b16 := a.As16()
	sh := &l.shards[maphash.Bytes(l.seed, b16[:])%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[a]
	if b == nil {
		if len(sh.buckets) >= maxPerShard && !sh.forgetIdle(now, l) {
			return true
		}
		b = &bucket{tokens: l.burst, last: now}
		sh.buckets[a] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// bucketKey is the address a bucket counts for: an IPv4 address, or the
// /64 of an IPv6 one (a single subscriber usually gets a whole /64, and
// could otherwise take a new bucket per request).
func bucketKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// forgetIdle drops the buckets that have refilled (their address is idle);
// it reports whether it freed room. It sweeps a shard at most once a second,
// so that a flood of new addresses cannot make every request pay a sweep.
func (sh *limiterShard) forgetIdle(now time.Time, l *ipLimiter) bool {
	if now.Sub(sh.swept) < time.Second {
		return false
	}
	sh.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for ip, b := range sh.buckets {
		if now.Sub(b.last) >= full {
			delete(sh.buckets, ip)
		}
	}
	return len(sh.buckets) < maxPerShard
}

// limited answers the requests of a client over its rate: the pixels still
// get their GIF (a browser cannot act on an error), the others 429 with
// Retry-After. Each is counted in metrics and listed as refused; no raw
// hit is recorded (writing one is the cost a flood would impose).
func (s *Server) limited(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.limiter == nil || s.limiter.allow(s.clientAddr(c), s.now()) {
			return c.Next()
		}
		s.metrics.hit(kind, string(storage.StatusRejected), reasonRateLimited)
		acct := capped(c.Params("acct"), maxRecordedAcct)
		s.rejected.add(&storage.Hit{Time: s.now(), Kind: kind, Account: acct,
			Status: storage.StatusRejected, Reason: reasonRateLimited}, s.accounts.cachedKnown(acct))
		c.Set(fiber.HeaderRetryAfter, "1")
		switch kind {
		case storage.KindPixel, storage.KindRegistration:
			writeGIF(c)
			return nil
		case storage.KindPostback:
			return c.Status(fiber.StatusTooManyRequests).SendString("error=" + reasonRateLimited)
		case storage.KindClick:
			c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			return c.Status(fiber.StatusTooManyRequests).SendString("Too many requests from your address: try again in a moment.")
		}
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": reasonRateLimited})
	}
}
