package server

import (
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// listDeliveries lists outbound deliveries (postbacks, webhooks, Meta
// events) with their attempts, newest first: ?status=pending|delivered|failed,
// ?kind=postback|webhook|meta, ?limit= and ?cursor= (page.go).
func (s *Server) listDeliveries(c *fiber.Ctx) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	f := outbox.ListFilter{Status: c.Query("status"), Kind: c.Query("kind"), Limit: limit, Before: c.Query("cursor")}
	ds, err := s.outbox.List(c.UserContext(), account(c).ID, f)
	if errors.Is(err, outbox.ErrInvalid) {
		return errBadRequest("invalid_filter", err.Error())
	}
	if err != nil {
		return err
	}
	for i := range ds {
		redactDelivery(&ds[i])
	}
	if ds == nil {
		ds = []outbox.Delivery{}
	}
	next := ""
	if len(ds) == limit {
		next = ds[len(ds)-1].ID // the page is full: older ones may follow
	}
	return c.JSON(fiber.Map{"deliveries": ds, "next_cursor": next})
}

func (s *Server) getDelivery(c *fiber.Ctx) error {
	d, err := s.outbox.Get(c.UserContext(), account(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	redactDelivery(&d)
	return c.JSON(d)
}

// retryDelivery sends a failed delivery again, now.
func (s *Server) retryDelivery(c *fiber.Ctx) error {
	err := s.outbox.Retry(c.UserContext(), account(c).ID, c.Params("id"))
	if errors.Is(err, outbox.ErrConflict) {
		return &apiError{fiber.StatusConflict, "not_retryable", err.Error()}
	}
	if err != nil {
		return err
	}
	return s.getDelivery(c)
}

// redactDelivery hides what a delivery may carry of secrets: signature
// and authorization headers, the body (an access token), and the values of
// secret-like query parameters.
func redactDelivery(d *outbox.Delivery) {
	for k := range d.Headers {
		d.Headers[k] = "[redacted]"
	}
	if len(d.Body) > 0 {
		d.Body = []byte("[redacted]")
	}
	if u, err := url.Parse(d.URL); err == nil {
		q := u.Query()
		for k := range q {
			switch k {
			case "access_token", "token", "secret", "key", "api_key":
				q.Set(k, "[redacted]")
			}
		}
		u.RawQuery = q.Encode()
		d.URL = u.String()
	}
}
