package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/web"
)

// transparentGIF is the 43-byte 1x1 transparent GIF every pixel answers.
var transparentGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, // header, 1x1, global colour table of 2
	0, 0, 0, 0xff, 0xff, 0xff, // black, white
	0x21, 0xf9, 0x04, 0x01, 0, 0, 0, 0, // graphic control: colour 0 transparent
	0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, // image descriptor
	0x02, 0x02, 0x44, 0x01, 0, // LZW data
	0x3b, // trailer
}

const noStore = "no-store, no-cache, must-revalidate, private"

// Hit kinds, as recorded on raw hits and in metrics.
const (
	kindPixel        = "pixel"
	kindRegistration = "registration"
)

// writeGIF sets the pixel answer. It comes first so that nothing after it
// can turn the answer into an error: a browser cannot act on one.
func writeGIF(c *fiber.Ctx) {
	c.Status(fiber.StatusOK)
	c.Set(fiber.HeaderContentType, "image/gif")
	c.Set(fiber.HeaderCacheControl, noStore)
	c.Set(fiber.HeaderPragma, "no-cache")
	c.Set(fiber.HeaderExpires, "0")
	c.Response().SetBodyRaw(transparentGIF)
}

// conversionPixel records a purchase (SPEC §1.1) and always answers the GIF.
func (s *Server) conversionPixel(c *fiber.Ctx) error {
	writeGIF(c)
	if s.ignored(c, kindPixel) {
		return nil
	}
	s.recordConversion(c)
	return nil
}

func (s *Server) recordConversion(c *fiber.Ctx) {
	now := s.now()
	acct := c.Params("acct")
	hit, err := attribution.ParsePixel(c.Request().URI().QueryString())
	if err != nil {
		s.reject(c, kindPixel, acct, err)
		return
	}
	account, err := s.accounts.get(acct)
	if err != nil {
		s.reject(c, kindPixel, acct, err)
		return
	}
	currency := hit.Currency
	if currency == "" {
		currency = account.DefaultCurrency
	}
	var amount attribution.Micros
	if hit.Amount != "" {
		if amount, err = attribution.ParseAmount(hit.Amount, currency); err != nil {
			s.reject(c, kindPixel, acct, err)
			return
		}
	}
	// The conversion pixel never sets pp_aid: a refresh that came back with
	// a cookie its first load lacked would derive another order key.
	cookie := validCookie(c.Cookies(attendeeCookie))
	key, window := attribution.OrderKey(attribution.OrderKeyInput{
		OrderID:    hit.OrderID,
		AttendeeID: presentedAttendee(hit.Email, cookie),
		Webinars:   hit.Webinars,
		Tags:       hit.Tags,
		Amount:     amount,
		Currency:   currency,
		IP:         c.IP(),
		UserAgent:  string(c.Request().Header.UserAgent()),
	})
	s.apply(c, kindPixel, storage.Op{
		HitID:         newHitID(now),
		Account:       account.ID,
		Kind:          storage.OpConversion,
		Time:          now,
		AttendeeEmail: hit.Email,
		CookieID:      cookie,
		Webinars:      hit.Webinars,
		Tags:          hit.Tags,
		OrderKey:      key,
		OrderWindow:   window,
		OrderID:       hit.OrderID,
		HasAmount:     hit.Amount != "",
		Amount:        amount,
		Currency:      currency,
		ProductID:     hit.ProductID,
		ProductName:   hit.ProductName,
		Source:        "pixel",
	})
}

// registrationPixel records a registrant (SPEC §1.2) and sets pp_aid.
func (s *Server) registrationPixel(c *fiber.Ctx) error {
	writeGIF(c)
	if s.ignored(c, kindRegistration) {
		return nil
	}
	cookie := validCookie(c.Cookies(attendeeCookie))
	if cookie == "" {
		cookie = newCookieID()
	}
	s.setAttendeeCookie(c, cookie)
	acct := c.Params("acct")
	hit, err := attribution.ParseRegistration(c.Request().URI().QueryString())
	if err != nil {
		s.reject(c, kindRegistration, acct, err)
		return nil
	}
	account, err := s.accounts.get(acct)
	if err != nil {
		s.reject(c, kindRegistration, acct, err)
		return nil
	}
	now := s.now()
	s.apply(c, kindRegistration, storage.Op{
		HitID:         newHitID(now),
		Account:       account.ID,
		Kind:          storage.OpRegistration,
		Time:          now,
		AttendeeEmail: hit.Email,
		CookieID:      cookie,
		Webinars:      hit.Webinars,
		Tags:          hit.Tags,
		Source:        "pixel",
	})
	return nil
}

// ignored reports hits that answer the GIF but count nothing: HEAD requests
// and link-preview prefetches.
func (s *Server) ignored(c *fiber.Ctx, kind string) bool {
	if c.Method() == fiber.MethodHead || isPrefetch(&c.Request().Header) {
		s.metrics.hit(kind, "ignored", "prefetch")
		return true
	}
	return false
}

// apply sends op through the ledger batcher and records the outcome.
func (s *Server) apply(c *fiber.Ctx, kind string, op storage.Op) {
	res, err := s.batcher.Apply(op)
	if err != nil {
		// Without the write-ahead log the hit cannot be kept for later.
		s.metrics.hit(kind, "error", "ledger_unavailable")
		s.log.Error().Err(err).Str("kind", kind).Msg("ledger apply failed")
		return
	}
	s.metrics.hit(kind, string(res.Status), res.Reason)
	if res.Status == storage.StatusRejected {
		s.rejected.add(s.now(), kind, op.Account, res.Reason, "", c.Request().URI().QueryString())
	}
}

// reject records a hit refused before it reached the ledger.
func (s *Server) reject(c *fiber.Ctx, kind, acct string, err error) {
	status, reason, _ := statusOf(err)
	param := ""
	if rej, ok := err.(*attribution.Rejection); ok {
		param = rej.Param
	} else if status == fiber.StatusServiceUnavailable {
		reason = "ledger_unavailable"
	} else if status == fiber.StatusNotFound {
		reason = storage.ReasonUnknownAccount
	}
	s.metrics.hit(kind, string(storage.StatusRejected), reason)
	s.rejected.add(s.now(), kind, strings.Clone(acct), reason, param, c.Request().URI().QueryString())
}

// presentedAttendee is the identity a hit presents, before the ledger
// follows cookie links: it keys attendee orders (refreshes of one page
// present the same identity).
func presentedAttendee(email, cookie string) string {
	switch {
	case email != "":
		return attribution.EmailAttendeeID(email)
	case cookie != "":
		return attribution.CookieAttendeeID(cookie)
	}
	return ""
}

// pixelScript serves pixel.js; browsers may cache it for an hour.
func (s *Server) pixelScript(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(web.PixelJS)
}
