package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pixelpost/pixelpost/storage"
)

// strippedColumns are the columns of a click's rows that an erasure of the
// person who converted it blanks: storage.Hit.StripClick in the table
// (the macros, query, IP, user agent and referrer).
var strippedColumns = []string{"macro_keys", "macro_values", "query", "ip", "user_agent", "referer"}

// EraseAttendee erases an attendee from the hits table (SPEC §6), as e
// says: the rows of the clicks the person converted (e.ClickIDs, to which
// the clicks the person's conversion rows name are added) are stripped
// (StripClicks), then the person's rows deleted (DeleteAttendee by email
// hash and attendee id). In that order, so that when it fails half-way
// the same call finds the clicks again.
func (c *Client) EraseAttendee(ctx context.Context, e *storage.RowErasure) error {
	found, err := c.ConvertedClicks(ctx, e.Account, e.EmailSHA256, e.AttendeeID)
	if err != nil {
		return err
	}
	if e.ClickIDs == nil {
		e.ClickIDs = map[string]bool{}
	}
	for _, id := range found {
		e.ClickIDs[id] = true
	}
	if err := c.StripClicks(ctx, e.Account, e.ClickIDs); err != nil {
		return err
	}
	return c.DeleteAttendee(ctx, e.Account, e.EmailSHA256, e.AttendeeID)
}

// ConvertedClicks returns the clicks the attendee's rows converted:
// storage.RowErasure.ConvertedClick in SQL (conversion rows of a click,
// not refused).
func (c *Client) ConvertedClicks(ctx context.Context, account, emailSHA256 string, attendeeIDs ...string) ([]string, error) {
	where, args, err := attendeeWhere(account, emailSHA256, attendeeIDs)
	if err != nil {
		return nil, err
	}
	q := "SELECT DISTINCT click_id FROM hits WHERE " + where +
		" AND kind = ? AND click_id != '' AND status != ? ORDER BY click_id"
	rows, err := c.conn.Query(ctx, q, append(args, storage.KindPostback, string(storage.StatusRejected))...)
	if err != nil {
		return nil, fmt.Errorf("cannot find the attendee's clicks: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("cannot find the attendee's clicks: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot find the attendee's clicks: %w", err)
	}
	return ids, nil
}

// StripClicks blanks what the rows of the given clicks of account (each
// click's row and its conversions' rows) say of the visit
// (strippedColumns), with an ALTER TABLE ... UPDATE mutation (18.16 has
// them) on every shard of a cluster, and waits for it (see mutate).
// Campaign, cost, time, status and values stay: reports do not change.
func (c *Client) StripClicks(ctx context.Context, account string, clickIDs map[string]bool) error {
	if len(clickIDs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(clickIDs))
	for id := range clickIDs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	set := make([]string, len(strippedColumns))
	for i, name := range strippedColumns {
		set[i] = name + " = " + emptyValue(name)
	}
	action := "UPDATE " + strings.Join(set, ", ") +
		" WHERE account = ? AND has(?, click_id) AND kind IN (?, ?)"
	if err := c.mutate(ctx, action, []any{account, ids, storage.KindClick, storage.KindPostback}); err != nil {
		return fmt.Errorf("cannot strip the rows of %d clicks: %w", len(ids), err)
	}
	return nil
}

// emptyValue is the empty value of a column of hitColumns, as 18.16 takes
// it in an UPDATE ([] has no type there).
func emptyValue(name string) string {
	for _, c := range hitColumns {
		if c.name == name && c.typ == "Array(String)" {
			return "emptyArrayString()"
		}
	}
	return "''"
}
