package server

import (
	"errors"
	"strings"
	"time"

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
	if s.ignored(c, storage.KindPixel) {
		return nil
	}
	r := s.requestOf(c)
	h := s.newHit(c, storage.KindPixel)
	q, err := s.parseConversion(&r, &h)
	if err != nil {
		// The account cannot be read now: the hit waits in the log with
		// its request and is decided when it can (Server.resolve).
		h.Deferred = r.deferred()
	}
	clickID := q.ClickID
	if clickID == "" {
		if ck := r.clickCookie; attribution.ValidClickID(ck) {
			clickID = strings.Clone(ck)
		}
	}
	if clickID != "" && h.Status == "" {
		// A tracker's conversion pixel: the conversion of the click, as a
		// postback would record it; the webinars, if named, count too.
		pb := clickConversion(&h, clickID, q.Goal, s.now())
		s.recordPixel(c, &pb)
		if len(h.Webinars) == 0 && len(h.Tags) == 0 {
			return nil
		}
	}
	s.recordPixel(c, &h)
	return nil
}

// clickConversion is the postback hit of a conversion pixel naming a
// click: approved, worth the pixel's amount, its order id as txid. The
// ledger refuses it (pixel_conversions_disabled) unless the click's
// campaign allows it. A deferred pixel's is deferred too, and completed
// from the pixel's request (Server.resolve).
func clickConversion(h *storage.Hit, clickID, goal string, now time.Time) storage.Hit {
	pb := *h
	pb.ID, pb.Kind, pb.Source = newHitID(now), storage.KindPostback, storage.SourcePixel
	completeClickConversion(&pb, h, clickID, goal)
	return pb
}

// completeClickConversion fills pb, the postback hit of the pixel hit h,
// from h.
func completeClickConversion(pb, h *storage.Hit, clickID, goal string) {
	pb.Currency, pb.Amount, pb.HasAmount = h.Currency, h.Amount, h.HasAmount
	pb.Webinars, pb.Tags, pb.OrderKey = nil, nil, ""
	pb.ClickID, pb.TxID, pb.Goal = clickID, h.OrderID, goal
	if pb.Goal == "" {
		pb.Goal = attribution.DefaultGoalID
	}
	pb.ConvStatus, pb.RawStatus = string(attribution.StatusApproved), ""
}

// parseConversion fills a pixel hit from its request, or rejects it, and
// returns the parsed query. Its error says only that the account cannot
// be read now (storage.ErrUnavailable): h is then incomplete, to be
// decided later from r.
func (s *Server) parseConversion(r *request, h *storage.Hit) (attribution.PixelHit, error) {
	q, err := attribution.ParsePixel(r.query)
	if err != nil {
		rejectHit(h, err)
		return q, nil
	}
	h.Webinars, h.Tags, h.OrderID = q.Webinars, q.Tags, q.OrderID
	h.ProductID, h.ProductName = q.ProductID, q.ProductName
	setEmail(h, q.Email)
	account, err := s.accounts.get(h.Account)
	if errors.Is(err, storage.ErrUnavailable) {
		return q, err
	}
	if err != nil {
		rejectHit(h, err)
		return q, nil
	}
	h.Currency = q.Currency
	if h.Currency == "" {
		h.Currency = account.DefaultCurrency
	}
	if q.Amount != "" {
		if h.Amount, err = attribution.ParseAmount(q.Amount, h.Currency); err != nil {
			rejectHit(h, err)
			return q, nil
		}
		if err := attribution.CheckMaxAmount(h.Amount, h.Currency, account.MaxAmount, account.DefaultCurrency); err != nil {
			rejectHit(h, err)
			return q, nil
		}
		h.HasAmount = true
	}
	// The conversion pixel never sets pp_aid: a refresh that came back with
	// a cookie its first load lacked would derive another order key.
	h.CookieID = validCookie(r.attendeeCookie)
	h.OrderKey, _ = attribution.OrderKey(attribution.OrderKeyInput{
		OrderID:    h.OrderID,
		AttendeeID: presentedAttendee(h),
		Webinars:   h.Webinars,
		Tags:       h.Tags,
		Amount:     h.Amount,
		Currency:   h.Currency,
		IP:         r.client,
		UserAgent:  h.UserAgent,
	})
	h.Source = "pixel"
	return q, nil
}

// registrationPixel records a registrant (SPEC §1.2) and sets pp_aid.
func (s *Server) registrationPixel(c *fiber.Ctx) error {
	writeGIF(c)
	if s.ignored(c, storage.KindRegistration) {
		return nil
	}
	cookie := validCookie(c.Cookies(attendeeCookie))
	if cookie == "" {
		cookie = newCookieID()
	}
	s.setAttendeeCookie(c, cookie)
	h := s.newHit(c, storage.KindRegistration)
	h.CookieID, h.Source = cookie, "pixel"
	if q, err := attribution.ParseRegistration(c.Request().URI().QueryString()); err != nil {
		rejectHit(&h, err)
	} else if _, err := s.accounts.get(h.Account); err != nil && !errors.Is(err, storage.ErrUnavailable) {
		rejectHit(&h, err)
	} else {
		// An account that cannot be read now is the ledger's to check: it
		// refuses an unknown one (unknown_account) when it applies the hit.
		h.Webinars, h.Tags, h.Email = q.Webinars, q.Tags, q.Email
	}
	s.recordPixel(c, &h)
	return nil
}

// ignored reports hits that answer as usual (the GIF, the click's
// redirect) but count nothing: HEAD requests, prefetches and link previews.
func (s *Server) ignored(c *fiber.Ctx, kind string) bool {
	if c.Method() == fiber.MethodHead || isPrefetch(&c.Request().Header) {
		s.metrics.hit(kind, "ignored", "prefetch")
		return true
	}
	return false
}

// presentedAttendee is the identity a hit presents, before the ledger
// follows cookie links: it keys attendee orders (refreshes of one page
// present the same identity). The email's hash is the hit's (setEmail).
func presentedAttendee(h *storage.Hit) string {
	switch {
	case h.Email != "":
		return attribution.AttendeeIDOfEmailSHA256(h.EmailSHA256)
	case h.CookieID != "":
		return attribution.CookieAttendeeID(h.CookieID)
	}
	return ""
}

// pixelScript serves pixel.js; browsers may cache it for an hour.
func (s *Server) pixelScript(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(web.PixelJS)
}
