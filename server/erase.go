package server

import (
	"context"
	"maps"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// eraseWait bounds how long an erasure waits for the hits recorded before
// it to be applied and released from the hits log, for their rows to
// reach ClickHouse, and for ClickHouse to delete them.
const eraseWait = 30 * time.Second

// erasureView is the answer of an erasure.
type erasureView struct {
	AttendeeID    string `json:"attendee_id"`
	Found         bool   `json:"found"`
	Orders        int    `json:"orders"`
	Registrations int    `json:"registrations"`
	Cookies       int    `json:"cookies"`
	Clicks        int    `json:"clicks"`      // clicks it converted, stripped of their macros
	ExportRows    int    `json:"export_rows"` // rows removed from stored audience exports
	Deliveries    int    `json:"deliveries"`  // outbound deliveries stripped of the person's data
	// RawHits: "deleted" from ClickHouse, or "no_clickhouse" when none is
	// configured (the local rows archive keeps hashed rows: see README).
	RawHits string `json:"raw_hits"`
	// ReportRows are the rows deleted from the embedded default's hit
	// index (the reports without ClickHouse); 0 with ClickHouse.
	ReportRows int `json:"report_rows"`
}

// eraseAttendee erases an attendee (GDPR, SPEC §6): the ledger first,
// whose tombstone refuses the attendee's hits still waiting in the log
// (their rows keep no trace of the person), and its rows in stored
// audience exports; then the hits log up to now (Pipeline.Purge); the
// person's rows in the rows log, and the rows of the clicks they converted
// stripped (Pipeline.EraseRows); outbound deliveries that name them, or
// postbacks of those clicks (their URLs hold the source's macros); then,
// once every row decided before is in ClickHouse, the same there (by
// email hash and by attendee id: cookie-only hits carry no email).
// Idempotent: when a step cannot finish, the answer says so and the same
// DELETE is sent again.
func (s *Server) eraseAttendee(c *fiber.Ctx) error {
	email, err := emailParam(c)
	if err != nil {
		return err
	}
	acct := account(c).ID
	at := s.now()
	// Exports first: they are ledger documents, and the embedded ledger's
	// erasure overwrites the old copies of every page rewritten before it.
	exportRows, err := s.eraseFromExports(c.UserContext(), acct, attribution.EmailAttendeeID(email))
	if err != nil {
		return err
	}
	er, err := s.ledger.EraseAttendee(c.UserContext(), acct, email, at)
	if err != nil {
		return err
	}
	v := erasureView{AttendeeID: er.AttendeeID, Found: er.Found, Orders: er.Orders,
		Registrations: er.Registrations, Cookies: er.Cookies, Clicks: er.Clicks, ExportRows: exportRows,
		RawHits: "no_clickhouse"}
	s.rejected.forget(acct, emailSHA256(email), er.AttendeeID)
	ctx, cancel := context.WithTimeout(context.Background(), eraseWait)
	defer cancel()
	// The hits log holds each hit as it came (email, name, phone) until
	// its segment is released: the hits recorded before now are applied
	// (the tombstone refuses the person's), announced (Sync: their
	// deliveries exist) and their segments deleted.
	err = s.pipeline.Purge(ctx)
	if err == nil {
		err = s.pipeline.Sync(ctx)
	}
	if err != nil {
		s.errLog.Warn().Err(err).Str("account", acct).Msg("erasure: hits log not released yet")
		return &apiError{fiber.StatusServiceUnavailable, "hits_log_pending",
			"the attendee is erased from the ledger, but hits recorded before the erasure are still in the hits log, " +
				"waiting for the ledger (" + err.Error() + "): send the same DELETE again"}
	}
	e := &storage.RowErasure{Account: acct, AttendeeID: er.AttendeeID, EmailSHA256: emailSHA256(email), At: at,
		ClickIDs: map[string]bool{}}
	for _, id := range er.ClickIDs {
		e.ClickIDs[id] = true
	}
	if _, err := s.pipeline.EraseRows(e); err != nil {
		s.log.Error().Err(err).Str("account", acct).Msg("erasure: rows log not rewritten")
		return &apiError{fiber.StatusServiceUnavailable, "rows_log_pending",
			"the attendee is erased from the ledger, but its rows could not be taken out of the rows log (" +
				err.Error() + "): send the same DELETE again"}
	}
	if v.Deliveries, err = s.forgetDeliveries(c.UserContext(), acct, email, e.ClickIDs); err != nil {
		return err
	}
	if s.index != nil {
		if v.ReportRows, err = s.eraseFromIndex(e); err != nil {
			s.errLog.Warn().Err(err).Str("account", acct).Msg("erasure: report rows not deleted yet")
			return &apiError{fiber.StatusServiceUnavailable, "report_rows_pending",
				"the attendee is erased from the ledger, but its rows in the report index could not be deleted yet (" +
					err.Error() + "): send the same DELETE again"}
		}
	}
	if s.clickhouse == nil {
		return c.JSON(v)
	}
	known := len(e.ClickIDs)
	if err := s.eraseRawHits(ctx, e); err != nil {
		s.errLog.Warn().Err(err).Str("account", acct).Msg("erasure: raw hits not erased yet")
		return &apiError{fiber.StatusServiceUnavailable, "raw_hits_pending",
			"the attendee is erased from the ledger, but its raw hits in ClickHouse could not be erased yet (" +
				err.Error() + "): send the same DELETE again"}
	}
	if len(e.ClickIDs) > known { // older clicks, named only by rows in ClickHouse
		n, err := s.forgetDeliveries(c.UserContext(), acct, "", e.ClickIDs)
		if err != nil {
			return err
		}
		v.Deliveries += n
	}
	v.RawHits = "deleted"
	return c.JSON(v)
}

// forgetDeliveries strips from the outbox the deliveries that name email
// (webhooks) and the postbacks of the given clicks, whose URLs hold the
// traffic source's macros (their key starts with the click id, see
// announcement).
func (s *Server) forgetDeliveries(ctx context.Context, acct, email string, clicks map[string]bool) (int, error) {
	holds := outbox.Holds(email)
	return s.outbox.ForgetWhere(ctx, acct, func(d *outbox.Delivery) bool {
		return holds(d) || (d.Kind == outbox.KindPostback && clicks[storage.ConvKeyClick(d.Key)])
	})
}

// eraseRawHits erases an attendee from ClickHouse (clickhouse.Client.
// EraseAttendee) once the rows decided before now are shipped (a row
// shipped after the erasure would bring them back).
func (s *Server) eraseRawHits(ctx context.Context, e *storage.RowErasure) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	return s.clickhouse.EraseAttendee(ctx, e)
}

// eraseFromIndex erases a person from the hit index (the reports of the
// embedded default) as from ClickHouse (eraseRawHits), once the rows
// decided before now are indexed: the rows of the clicks they converted
// stripped, then their own rows deleted.
func (s *Server) eraseFromIndex(e *storage.RowErasure) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), eraseWait)
	defer cancel()
	if err := s.flush(ctx); err != nil {
		return 0, err
	}
	clicks := maps.Clone(e.ClickIDs)
	if clicks == nil {
		clicks = map[string]bool{}
	}
	found, err := s.index.ConvertedClicks(ctx, e.Account, e.EmailSHA256, e.AttendeeID)
	if err != nil {
		return 0, err
	}
	for _, id := range found {
		clicks[id] = true
	}
	if err := s.index.StripClicks(ctx, e.Account, clicks); err != nil {
		return 0, err
	}
	return s.index.Erase(ctx, e.Account, e.EmailSHA256, e.AttendeeID)
}

// tombstonesTTL is how long the shipper trusts the tombstones it read. A
// stale read is harmless: an erasure waits for the rows decided before it
// to be shipped, then deletes them in ClickHouse.
const tombstonesTTL = time.Minute

// erasedRows tells the shipper which rows to leave out: those of a person
// erased after the row was decided, such as rows recorded on the embedded
// default before --clickhouse-dsn was added (SPEC §6: a later replay
// cannot bring them back). While the ledger cannot say, it waits and
// retries: a row is neither shipped blindly nor dropped for an outage.
// Only when ctx ends first is the row left out, and that is logged. It
// runs on the shipper's goroutine only.
func (s *Server) erasedRows(ctx context.Context) func(*storage.Hit) bool {
	var tombs *storage.Tombstones
	var read time.Time
	return func(h *storage.Hit) bool {
		wait := 100 * time.Millisecond
		for {
			if tombs == nil || time.Since(read) > tombstonesTTL {
				tombs, read = storage.NewTombstones(s.ledger), time.Now()
			}
			// Not ctx itself: the shipper's final flush runs after ctx ended.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			erased, err := tombs.Erased(lctx, h)
			cancel()
			if err == nil {
				return erased
			}
			tombs = nil
			s.errLog.Warn().Err(err).Msg("cannot read erasures: rows wait for the ledger before shipping")
			select {
			case <-ctx.Done():
				s.log.Error().Str("hit_id", h.ID).Msg("shutdown while erasures could not be read: row left out of ClickHouse")
				return true
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
}
