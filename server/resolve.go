package server

import (
	"context"
	"fmt"

	"github.com/pixelpost/pixelpost/storage"
)

// resolve decides a deferred hit (pipeline.Deps.Resolve): one answered
// while its account or configuration could not be read. It runs the code
// the hit's handler runs, on the request the hit kept, so that the hit is
// decided exactly as it would have been when it was answered: an unknown
// account is rejected unknown_account, a bad secret bad_secret, a good hit
// goes on to the ledger. Its error wraps storage.ErrUnavailable while they
// still cannot be read. ctx is not used: lookups are bounded by the caches
// (readcache.go).
func (s *Server) resolve(_ context.Context, h *storage.Hit) error {
	r := storedRequest(h.Deferred)
	var err error
	switch {
	case h.Kind == storage.KindPixel:
		_, err = s.parseConversion(&r, h)
	case h.Kind == storage.KindPostback && h.Source == storage.SourcePixel:
		err = s.resolvePixelConversion(&r, h)
	case h.Kind == storage.KindPostback:
		err = s.takePostback(&r, h)
	case h.Kind == storage.KindLead:
		_, err = s.takeLead(&r, h)
	default:
		return fmt.Errorf("cannot decide a deferred %s hit", h.Kind)
	}
	if err != nil {
		return err
	}
	h.EmailSHA256 = emailSHA256(h.Email)
	return nil
}

// resolvePixelConversion decides the click conversion of a deferred
// conversion pixel (clickConversion): the pixel's request is parsed as
// the pixel's handler does, and the conversion takes its amount, currency
// and order id, or its rejection.
func (s *Server) resolvePixelConversion(r *request, pb *storage.Hit) error {
	px := *pb
	px.Kind, px.Source = storage.KindPixel, ""
	q, err := s.parseConversion(r, &px)
	if err != nil {
		return err
	}
	if px.Status != "" {
		pb.Status, pb.Reason = px.Status, px.Reason
		return nil
	}
	pb.Email, pb.CookieID, pb.OrderID = px.Email, px.CookieID, px.OrderID
	pb.ProductID, pb.ProductName = px.ProductID, px.ProductName
	completeClickConversion(pb, &px, pb.ClickID, q.Goal)
	return nil
}
