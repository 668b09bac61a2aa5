package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoAttendee: DeleteAttendee was given nothing that names an attendee.
var ErrNoAttendee = errors.New("no attendee to delete")

// mutationPoll is how often DeleteAttendee checks that its mutation is done.
const mutationPoll = 50 * time.Millisecond

// DeleteAttendee erases an attendee's rows from the hits table (GDPR): the
// rows of account whose email_sha256 is emailSHA256 (if not empty) or whose
// attendee_id is one of attendeeIDs (cookie-only hits carry no email).
// It runs ALTER TABLE ... DELETE, a mutation (ClickHouse 1.1.54388 and
// later; 18.16 has them), and waits until the table's mutations are done or
// ctx ends; after ctx ends the mutation still completes in the background.
// Rows of the attendee still in the rows WAL and shipped later are not
// covered: erase the attendee from the ledger first, so no new rows name it.
func (c *Client) DeleteAttendee(ctx context.Context, account, emailSHA256 string, attendeeIDs ...string) error {
	var ids []string
	for _, id := range attendeeIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if account == "" || (emailSHA256 == "" && len(ids) == 0) {
		return ErrNoAttendee
	}
	where, args := "", []any{account}
	switch {
	case emailSHA256 != "" && len(ids) > 0:
		where, args = "(email_sha256 = ? OR has(?, attendee_id))", append(args, emailSHA256, ids)
	case emailSHA256 != "":
		where, args = "email_sha256 = ?", append(args, emailSHA256)
	default:
		where, args = "has(?, attendee_id)", append(args, ids)
	}
	// The driver binds a slice as an array literal; 18.16 cannot mutate
	// with "IN [...]", hence has().
	if err := c.conn.Exec(ctx, "ALTER TABLE hits DELETE WHERE account = ? AND "+where, args...); err != nil {
		return fmt.Errorf("cannot delete attendee rows: %w", err)
	}
	if err := c.waitMutations(ctx); err != nil {
		return fmt.Errorf("cannot delete attendee rows: %w", err)
	}
	return nil
}

// waitMutations waits until no mutation of hits is pending. 18.16 has no
// mutations_sync setting, so it polls system.mutations.
func (c *Client) waitMutations(ctx context.Context) error {
	t := time.NewTicker(mutationPoll)
	defer t.Stop()
	for {
		var pending uint64
		row := c.conn.QueryRow(ctx,
			"SELECT count() FROM system.mutations WHERE database = ? AND table = 'hits' AND is_done = 0", c.db)
		if err := row.Scan(&pending); err != nil {
			return fmt.Errorf("cannot check mutations: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mutation still running: %w", ctx.Err())
		case <-t.C:
		}
	}
}
