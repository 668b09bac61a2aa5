package server

import (
	"encoding/csv"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// registrantsCSV lists a webinar's registrants with their purchase data:
// whether they converted for it, their orders and lifetime value.
func (s *Server) registrantsCSV(c *fiber.Ctx) error {
	webinar := c.Query("webinarId")
	if !attribution.ValidID(webinar) {
		return errBadRequest("invalid_webinar_id", "webinarId is required: 1-64 characters of A-Z a-z 0-9 _ . : -")
	}
	acct := account(c)
	ctx := c.UserContext()
	regs, err := s.ledger.Registrants(ctx, acct.ID, webinar)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="registrants-`+webinar+`.csv"`)
	w := csv.NewWriter(c)
	_ = w.Write([]string{"email", "attendee_id", "registered_at", "converted", "orders", "webinar_orders", "ltv"})
	for _, r := range regs {
		row := []string{csvCell(r.Email), r.AttendeeID, r.RegisteredAt.UTC().Format(time.RFC3339), "false", "0", "0", ""}
		if r.Email != "" {
			a, err := s.ledger.Attendee(ctx, acct.ID, r.Email)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err == nil {
				n := 0
				for _, o := range a.OrderList {
					for _, w := range o.Webinars {
						if w == webinar {
							n++
							break
						}
					}
				}
				row[3] = strconv.FormatBool(n > 0)
				row[4] = strconv.FormatInt(a.Orders, 10)
				row[5] = strconv.Itoa(n)
				row[6] = ltvCell(a.LTV)
			}
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// ltvCell renders per-currency LTV as "99.98 USD; 10.00 EUR", sorted.
func ltvCell(ltv map[string]attribution.Micros) string {
	parts := make([]string, 0, len(ltv))
	for cur, v := range ltv {
		parts = append(parts, attribution.FormatAmount(v, cur)+" "+cur)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// csvCell neutralises values a spreadsheet would run as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
