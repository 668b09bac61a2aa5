package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// eraseWait bounds how long an erasure waits for the rows decided before
// it to reach ClickHouse, and for ClickHouse to delete them.
const eraseWait = 30 * time.Second

// erasureView is the answer of an erasure.
type erasureView struct {
	AttendeeID    string `json:"attendee_id"`
	Found         bool   `json:"found"`
	Orders        int    `json:"orders"`
	Registrations int    `json:"registrations"`
	Cookies       int    `json:"cookies"`
	ExportRows    int    `json:"export_rows"` // rows removed from stored audience exports
	Deliveries    int    `json:"deliveries"`  // outbound deliveries stripped of the person's data
	// RawHits: "deleted" from ClickHouse, or "no_clickhouse" when none is
	// configured (the local rows archive keeps hashed rows: see README).
	RawHits string `json:"raw_hits"`
	// ReportRows are the rows deleted from the embedded default's hit
	// index (the reports without ClickHouse); 0 with ClickHouse.
	ReportRows int `json:"report_rows"`
}

// eraseAttendee erases an attendee (GDPR, SPEC §6): the ledger first, whose
// tombstone refuses the attendee's hits still waiting in the log (their
// rows keep no trace of the person); its rows in stored audience exports
// and its data in outbound deliveries (webhooks); then, once every row
// decided before
// is in ClickHouse, the attendee's raw hits there, by email hash and by
// attendee id (cookie-only hits carry no email). Idempotent: when
// ClickHouse cannot finish, the answer says so and the same DELETE is
// sent again.
func (s *Server) eraseAttendee(c *fiber.Ctx) error {
	email, err := emailParam(c)
	if err != nil {
		return err
	}
	acct := account(c).ID
	er, err := s.ledger.EraseAttendee(c.UserContext(), acct, email, s.now())
	if err != nil {
		return err
	}
	v := erasureView{AttendeeID: er.AttendeeID, Found: er.Found, Orders: er.Orders,
		Registrations: er.Registrations, Cookies: er.Cookies, RawHits: "no_clickhouse"}
	if v.ExportRows, err = s.eraseFromExports(c.UserContext(), acct, er.AttendeeID); err != nil {
		return err
	}
	if v.Deliveries, err = s.outbox.Forget(c.UserContext(), acct, email); err != nil {
		return err
	}
	s.rejected.forget(acct, emailSHA256(email), er.AttendeeID)
	if s.index != nil {
		if v.ReportRows, err = s.eraseFromIndex(acct, emailSHA256(email), er.AttendeeID); err != nil {
			s.errLog.Warn().Err(err).Str("account", acct).Msg("erasure: report rows not deleted yet")
			return &apiError{fiber.StatusServiceUnavailable, "report_rows_pending",
				"the attendee is erased from the ledger, but its rows in the report index could not be deleted yet (" +
					err.Error() + "): send the same DELETE again"}
		}
	}
	if s.clickhouse == nil {
		return c.JSON(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), eraseWait)
	defer cancel()
	if err := s.deleteRawHits(ctx, acct, emailSHA256(email), er.AttendeeID); err != nil {
		s.errLog.Warn().Err(err).Str("account", acct).Msg("erasure: raw hits not deleted yet")
		return &apiError{fiber.StatusServiceUnavailable, "raw_hits_pending",
			"the attendee is erased from the ledger, but its raw hits in ClickHouse could not be deleted yet (" +
				err.Error() + "): send the same DELETE again"}
	}
	v.RawHits = "deleted"
	return c.JSON(v)
}

// deleteRawHits deletes an attendee's rows from ClickHouse once the rows
// decided before now are shipped (a row shipped after the deletion would
// bring them back).
func (s *Server) deleteRawHits(ctx context.Context, acct, emailHash, attendeeID string) error {
	if err := s.pipeline.Sync(ctx); err != nil {
		return err
	}
	if err := s.shipper.WaitShipped(ctx, s.pipeline.Rows().End()); err != nil {
		return err
	}
	return s.clickhouse.DeleteAttendee(ctx, acct, emailHash, attendeeID)
}

// eraseFromIndex deletes a person's rows from the hit index (the reports
// of the embedded default), as ClickHouse's are deleted, once the rows
// decided before now are indexed.
func (s *Server) eraseFromIndex(acct, emailHash, attendeeID string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), eraseWait)
	defer cancel()
	if err := s.pipeline.Sync(ctx); err != nil {
		return 0, err
	}
	if err := s.index.WaitIndexed(ctx, s.pipeline.Rows().End()); err != nil {
		return 0, err
	}
	return s.index.Erase(ctx, acct, emailHash, attendeeID)
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
