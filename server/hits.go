package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Sizes kept on a raw hit: enough to read, bounded against hostile input.
const (
	maxRecordedQuery = 2048
	maxRecordedUA    = 512
	maxRecordedRef   = 512
	maxRecordedAcct  = 64
)

// newHit starts the raw hit of a tracking request: id, time, account and
// the request's context. Every value is copied out of Fiber's buffers.
func (s *Server) newHit(c *fiber.Ctx, kind string) storage.Hit {
	now := s.now()
	return storage.Hit{
		ID:        newHitID(now),
		Time:      now,
		Account:   capped(c.Params("acct"), maxRecordedAcct),
		Kind:      kind,
		IP:        recordedIP(s.clientAddr(c), s.cfg.KeepFullIP),
		UserAgent: cappedBytes(c.Request().Header.UserAgent(), maxRecordedUA),
		Referer:   cappedBytes(c.Request().Header.Referer(), maxRecordedRef),
		Query:     attribution.RedactQuery(c.Request().URI().QueryString(), maxRecordedQuery),
	}
}

// record makes the hit durable before the handler answers. A hit that
// cannot be recorded (the log is full or failing) is counted and logged,
// and the error returned: the pixel and the click still answer (a browser
// cannot act on an error), the others answer 503; /readyz already says
// the node cannot take hits. An EmailSHA256 already set must be that of
// Email (setEmail).
func (s *Server) record(h *storage.Hit) error {
	return s.recordWith(h, false)
}

// recordPixel records a pixel's hit as record does, except for a browser's
// image load (browserImageLoad): that is answered once the hit is written
// to the hits log, which a crash or kill -9 of the process does not lose,
// without waiting for the fsync that follows within 5 ms. A browser never
// retries an image, so the fsync before its answer protected nothing.
func (s *Server) recordPixel(c *fiber.Ctx, h *storage.Hit) error {
	return s.recordWith(h, browserImageLoad(&c.Request().Header))
}

// recordWith records h, answering once it is written rather than fsynced
// when written is set. The pipeline is called directly, not through a
// function value, so that the handler's hit stays on its stack.
func (s *Server) recordWith(h *storage.Hit, written bool) error {
	if h.EmailSHA256 == "" {
		h.EmailSHA256 = emailSHA256(h.Email)
	}
	var err error
	if written {
		err = s.pipeline.RecordWritten(h)
	} else {
		err = s.pipeline.Record(h)
	}
	if err != nil {
		s.lost(h, err)
		return err
	}
	return nil
}

// lost counts and logs a hit that could not be recorded.
func (s *Server) lost(h *storage.Hit, err error) {
	s.metrics.hit(h.Kind, "lost", "wal_unavailable")
	s.errLog.Error().Err(err).Str("kind", h.Kind).Msg("cannot record hit")
}

// rejectHit marks a hit refused before the ledger, with the reason.
func rejectHit(h *storage.Hit, err error) {
	h.Status, h.Reason = storage.StatusRejected, reasonOf(err)
}

// reasonOf maps an error to the reason code recorded on a rejected hit.
func reasonOf(err error) string {
	var rej *attribution.Rejection
	switch {
	case errors.As(err, &rej):
		return rej.Reason
	case errors.Is(err, storage.ErrNotFound):
		return storage.ReasonUnknownAccount
	case errors.Is(err, storage.ErrUnavailable):
		return "ledger_unavailable"
	}
	return storage.ReasonInternal
}

// decided sees every batch of hits once the ledger decided them and their
// rows are durable: the one place that counts hits by final status, and
// where conversions become outbound postbacks.
func (s *Server) decided(hits []storage.Hit) {
	for i := range hits {
		h := &hits[i]
		s.metrics.hit(h.Kind, string(h.Status), h.Reason)
		if h.Status == storage.StatusRejected {
			s.rejected.add(h, h.Reason != storage.ReasonUnknownAccount && s.accounts.known(h.Account))
		}
	}
	s.announce(hits)
}

// recordedIP is what a raw hit keeps of the client address: its network
// part (/24 for IPv4, /48 for IPv6) unless full addresses are configured
// (SPEC §6).
func recordedIP(a netip.Addr, keepFull bool) string {
	if !a.IsValid() {
		return ""
	}
	if !keepFull {
		bits := 48
		if a.Is4() {
			bits = 24
		}
		p, _ := a.Prefix(bits)
		a = p.Addr()
	}
	return a.String()
}

func capped(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Clone(s)
}

// cappedBytes is capped for a header's bytes: one copy, not two.
func cappedBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// setEmail sets a hit's email and its hash together: the email is hashed
// once per hit, and the hash serves the order key, the raw hit and the
// ledger (storage.Op.EmailAttendeeID).
func setEmail(h *storage.Hit, email string) {
	h.Email, h.EmailSHA256 = email, emailSHA256(email)
}

// emailSHA256 is what raw hits keep of an email: its SHA-256 in hex.
func emailSHA256(email string) string {
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(email))
	var digits [2 * sha256.Size]byte // on the stack: one allocation, the string
	hex.Encode(digits[:], sum[:])
	return string(digits[:])
}
