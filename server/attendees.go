package server

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// The attendee list (GET /accounts/{acct}/attendees): every attendee with
// an email, searched by email prefix, sorted by lifetime value (in one
// currency: amounts in different currencies are never compared) or by
// email, in pages. It walks the ledger's attendees (storage.Ledger
// Attendees, on every ledger) and keeps only the page being built, so a
// request costs one pass over the account's attendees and memory for one
// page.

// Attendee list orders.
const (
	sortLTV   = "ltv"   // lifetime value in the currency asked, largest first, then email
	sortEmail = "email" // email, A to Z
)

type attendeeListItem struct {
	AttendeeID string            `json:"attendee_id"`
	Email      string            `json:"email"`
	Orders     int64             `json:"orders"`
	LTV        map[string]string `json:"ltv"`
	Webinars   []string          `json:"webinars"`
	LastOrder  *time.Time        `json:"last_order"` // null without orders

	ltv attribution.Micros // in the currency sorted on
}

// attendeeCursor is where a page ends: the last item's sort key.
type attendeeCursor struct {
	ltv   attribution.Micros
	email string
}

func (k attendeeCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(int64(k.ltv), 10) + "|" + k.email))
}

func parseAttendeeCursor(s string) (attendeeCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return attendeeCursor{}, false
	}
	n, email, ok := strings.Cut(string(b), "|")
	ltv, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil {
		return attendeeCursor{}, false
	}
	return attendeeCursor{attribution.Micros(ltv), email}, true
}

func (s *Server) listAttendees(c *fiber.Ctx) error {
	acct := account(c)
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	order := c.Query("sort", sortLTV)
	if order != sortLTV && order != sortEmail {
		return errBadRequest("invalid_sort", "sort is ltv or email")
	}
	cur := acct.DefaultCurrency
	if v := c.Query("currency"); v != "" {
		if cur, err = attribution.NormalizeCurrency(v); err != nil {
			return err
		}
	}
	// Emails are stored normalised (lower-case): so is the prefix.
	prefix := strings.ToLower(strings.TrimSpace(c.Query("prefix")))
	var after *attendeeCursor
	if v := c.Query("cursor"); v != "" {
		k, ok := parseAttendeeCursor(v)
		if !ok {
			return errBadRequest("invalid_cursor", "cursor is not one this API gave (send next_cursor back as it came)")
		}
		after = &k
	}
	less := func(a, b *attendeeListItem) int { // the list's order
		if order == sortLTV {
			if d := cmp.Compare(b.ltv, a.ltv); d != 0 {
				return d
			}
		}
		return strings.Compare(a.Email, b.Email)
	}
	var page []*attendeeListItem
	trim := func() {
		slices.SortFunc(page, less)
		if len(page) > limit+1 {
			page = page[:limit+1]
		}
	}
	err = s.ledger.Attendees(c.UserContext(), acct.ID, func(a storage.Attendee) error {
		if !strings.HasPrefix(a.Email, prefix) {
			return nil
		}
		it := &attendeeListItem{AttendeeID: a.ID, Email: a.Email, Orders: a.Orders, LTV: formatMoney(a.LTV),
			Webinars: nonNil(a.Webinars), ltv: a.LTV[cur]}
		if after != nil && less(it, &attendeeListItem{Email: after.email, ltv: after.ltv}) <= 0 {
			return nil // on an earlier page
		}
		for _, o := range a.OrderList {
			if it.LastOrder == nil || o.LastSeen.After(*it.LastOrder) {
				t := o.LastSeen.UTC()
				it.LastOrder = &t
			}
		}
		if page = append(page, it); len(page) >= 2*(limit+1) {
			trim()
		}
		return nil
	})
	if err != nil {
		return err
	}
	trim()
	next := ""
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = attendeeCursor{last.ltv, last.Email}.String()
	}
	if page == nil {
		page = []*attendeeListItem{}
	}
	return c.JSON(fiber.Map{"attendees": page, "sort": order, "currency": cur, "next_cursor": next})
}
