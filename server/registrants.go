package server

import (
	"context"
	"encoding/csv"
	"errors"
	"slices"
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

// importWait is how long an import waits for the ledger's results; rows
// not decided by then are answered queued (durable, applied later).
const importWait = 10 * time.Second

// importRowView is the answer's line for one row of an import.
type importRowView struct {
	Index  int    `json:"index"`
	Line   int    `json:"line,omitempty"` // of a refused CSV row
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// importRegistrants records a list of registrants of a webinar (SPEC §1.2):
// JSON or CSV (attribution.ParseRegistrants), each valid row a
// registration hit with source "import", made durable together and
// applied like the registration pixel's; the row's details (name, phone,
// country...) go to the attendee's profile, for audience exports.
// Importing a list again changes nothing (already_registered), or only the
// details (updated). Rows are answered one by one, by index.
func (s *Server) importRegistrants(c *fiber.Ctx) error {
	webinar, err := validIDParam(c, "webinar", "webinar")
	if err != nil {
		return err
	}
	now := s.now()
	rows, rejects, err := attribution.ParseRegistrants(c.Body(), string(c.Request().Header.ContentType()), now)
	if err != nil {
		return errBadRequest(reasonOf(err), "cannot read the registrants: "+err.Error()+
			" (send JSON [\"email\", ...] or [{\"email\", \"registered_at\"}], or CSV with an email column)")
	}
	acct := account(c).ID
	hits := make([]storage.Hit, len(rows))
	for i, r := range rows {
		at := r.RegisteredAt
		if at.IsZero() {
			at = now
		}
		hits[i] = storage.Hit{ID: newHitID(now), Time: at, Account: acct, Kind: storage.KindRegistration,
			Email: r.Email, EmailSHA256: emailSHA256(r.Email), Webinars: []string{webinar}, Source: "import",
			Profile: r.Profile}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), importWait)
	defer cancel()
	results, err := s.pipeline.RecordAllAndWait(ctx, hits)
	if err != nil {
		s.errLog.Error().Err(err).Msg("cannot record imported registrants")
		return &apiError{fiber.StatusServiceUnavailable, "unavailable", "the registrants could not be recorded: nothing was imported, try again"}
	}

	views := make([]importRowView, 0, len(rows)+len(rejects))
	counts := map[string]int{}
	for _, r := range rejects {
		views = append(views, importRowView{Index: r.Index, Line: r.Line, Status: string(storage.StatusRejected), Reason: r.Reason, Detail: r.Detail})
	}
	for i, res := range results {
		views = append(views, importRowView{Index: rows[i].Index, Status: string(res.Status), Reason: res.Reason})
	}
	slices.SortFunc(views, func(a, b importRowView) int { return a.Index - b.Index })
	for _, v := range views {
		counts[v.Status]++
	}
	return c.JSON(fiber.Map{
		"webinar_id": webinar,
		"total":      len(views),
		"accepted":   counts[string(storage.StatusAccepted)],
		"updated":    counts[string(storage.StatusUpdated)],
		"duplicate":  counts[string(storage.StatusDuplicate)],
		"rejected":   counts[string(storage.StatusRejected)],
		"queued":     counts[string(storage.StatusQueued)],
		"rows":       views,
	})
}
