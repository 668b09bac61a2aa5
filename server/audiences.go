package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/audience"
	"github.com/pixelpost/pixelpost/storage"
)

// Audience exports (SPEC §3.4): customer-list files for Google Ads and
// Meta, kept with their history in the ledger as two documents each (the
// description, listed often, and the rows, read on download). Rows keep
// their attendee id so that erasing a person removes them from every
// stored export.
const (
	configAudienceExport = "audience_export"
	configAudienceRows   = "audience_rows"
	// exportWait bounds building one export (it reads every attendee).
	exportWait = 2 * time.Minute
)

type exportBody struct {
	Platform audience.Platform `json:"platform"`
	Hashed   bool              `json:"hashed"`
	Filters  audience.Filters  `json:"filters"`
}

// exportDoc describes a stored export.
type exportDoc struct {
	ID        string            `json:"id"`
	Platform  audience.Platform `json:"platform"`
	Hashed    bool              `json:"hashed"`
	Filters   audience.Filters  `json:"filters"`
	CreatedAt time.Time         `json:"created_at"`
	// Selected is how many people the filters chose; Rows how many were
	// complete and well-formed; Excluded the others, by reason.
	Selected int            `json:"selected"`
	Rows     int            `json:"rows"`
	Excluded map[string]int `json:"excluded"`
}

type exportRow struct {
	AttendeeID string   `json:"a"`
	Cells      []string `json:"c"`
}

func (s *Server) createExport(c *fiber.Ctx) error {
	var b exportBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if audience.Headers[b.Platform] == nil {
		return errBadRequest("invalid_platform", `platform must be "google" or "meta"`)
	}
	acct := account(c)
	ctx, cancel := context.WithTimeout(context.Background(), exportWait)
	defer cancel()
	webinars, err := s.ledger.Webinars(ctx, acct.ID)
	if err != nil {
		return err
	}
	var chosen []string
	for _, w := range webinars {
		if w.ID == b.Filters.Webinar || (b.Filters.Tag != "" && slices.Contains(w.Tags, b.Filters.Tag)) {
			chosen = append(chosen, w.ID)
		}
	}
	sel, err := audience.NewSelector(b.Filters, chosen, acct.DefaultCurrency)
	if err != nil {
		return errBadRequest("invalid_filters", err.Error())
	}
	// Registrations are kept per webinar: gather them per attendee.
	registered := map[string][]string{}
	activity := map[string][]time.Time{}
	for _, w := range webinars {
		regs, err := s.ledger.Registrants(ctx, acct.ID, w.ID)
		if err != nil {
			return err
		}
		for _, r := range regs {
			registered[r.AttendeeID] = append(registered[r.AttendeeID], w.ID)
			activity[r.AttendeeID] = append(activity[r.AttendeeID], r.RegisteredAt)
		}
	}

	now := s.now()
	doc := exportDoc{ID: "x" + newHitID(now), Platform: b.Platform, Hashed: b.Hashed, Filters: b.Filters,
		CreatedAt: now.UTC(), Excluded: map[string]int{}}
	var rows []exportRow
	err = s.ledger.Attendees(ctx, acct.ID, func(a storage.Attendee) error {
		p := audience.Person{AttendeeID: a.ID, Email: a.Email, LTV: a.LTV, Orders: a.Orders,
			Converted: a.Webinars, Registered: registered[a.ID], Activity: activity[a.ID]}
		for _, o := range a.OrderList {
			p.Activity = append(p.Activity, o.FirstSeen, o.LastSeen)
		}
		var err error
		if p.Profile, err = s.ledger.Profile(ctx, acct.ID, a.ID); err != nil {
			return err
		}
		if !sel.Selects(&p) {
			return nil
		}
		doc.Selected++
		cells, reason := sel.Row(b.Platform, b.Hashed, &p, acct.DefaultCurrency, now)
		if reason != "" {
			doc.Excluded[reason]++
			return nil
		}
		rows = append(rows, exportRow{a.ID, cells})
		return nil
	})
	if err != nil {
		return err
	}
	doc.Rows = len(rows)
	if err := s.putExport(ctx, acct.ID, &doc, rows); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(doc)
}

// putExport stores an export's rows, then its description (listed only
// once its rows are there).
func (s *Server) putExport(ctx context.Context, acct string, doc *exportDoc, rows []exportRow) error {
	if rows == nil {
		rows = []exportRow{}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if err := s.ledger.PutConfig(ctx, acct, configAudienceRows, doc.ID, raw); err != nil {
		return err
	}
	if raw, err = json.Marshal(doc); err != nil {
		return err
	}
	return s.ledger.PutConfig(ctx, acct, configAudienceExport, doc.ID, raw)
}

// listExports answers the export history, newest first.
func (s *Server) listExports(c *fiber.Ctx) error {
	out, err := configDocs[exportDoc](c.UserContext(), s.ledger, account(c).ID, configAudienceExport)
	if err != nil {
		return err
	}
	slices.SortFunc(out, func(a, b exportDoc) int { return strings.Compare(b.ID, a.ID) }) // ids sort by time
	return c.JSON(fiber.Map{"exports": out})
}

// exportFile answers /audiences/exports/{id}.csv with the file.
func (s *Server) exportFile(c *fiber.Ctx) error {
	id, ok := strings.CutSuffix(c.Params("file"), ".csv")
	if !ok {
		return errNotFound("exports are downloaded as {id}.csv")
	}
	doc, rows, err := s.loadExport(c.UserContext(), account(c).ID, id)
	if err != nil {
		return err
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = r.Cells
	}
	var buf bytes.Buffer
	if err := audience.WriteCSV(&buf, audience.Headers[doc.Platform], cells); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audience-%s-%s-%s.csv"`,
		doc.Platform, doc.CreatedAt.Format("2006-01-02"), doc.ID))
	return c.Send(buf.Bytes())
}

func (s *Server) loadExport(ctx context.Context, acct, id string) (exportDoc, []exportRow, error) {
	var doc exportDoc
	var rows []exportRow
	raw, err := s.ledger.Config(ctx, acct, configAudienceExport, id)
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err == nil {
		if raw, err = s.ledger.Config(ctx, acct, configAudienceRows, id); err == nil {
			err = json.Unmarshal(raw, &rows)
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return doc, nil, errNotFound("no such audience export")
	}
	return doc, rows, err
}

func (s *Server) deleteExport(c *fiber.Ctx) error {
	return s.deleteDocs(c, "audience export", c.Params("id"), configAudienceExport, configAudienceRows)
}

// eraseFromExports removes an attendee's rows from every stored export of
// the account (GDPR erasure) and returns how many it removed.
func (s *Server) eraseFromExports(ctx context.Context, acct, attendeeID string) (int, error) {
	docs, err := configDocs[exportDoc](ctx, s.ledger, acct, configAudienceExport)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range docs {
		doc, rows, err := s.loadExport(ctx, acct, d.ID)
		if err != nil {
			return removed, err
		}
		before := len(rows)
		kept := slices.DeleteFunc(rows, func(r exportRow) bool { return r.AttendeeID == attendeeID })
		if len(kept) != before {
			removed += before - len(kept)
			doc.Rows = len(kept)
			if err := s.putExport(ctx, acct, &doc, kept); err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}
