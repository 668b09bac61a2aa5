package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

const rowsSQL = `SELECT hit_id, ts_ms, account, kind, status, reason, webinar_ids, tag,
    order_id, amount, delta, currency, attendee_id, email_sha256, click_id,
    campaign_id, ip, user_agent, referer, query, order_key, has_amount,
    product_id, product_name, source, macro_keys, macro_values, cost,
    source_id, network_id, goal, txid, conv_status, raw_status
FROM hits FINAL`

// Rows calls fn with every row of account (of all accounts if account is
// ""), deduped, in hit order (ts_ms, then hit_id), decoded back into a
// storage.Hit: what reconcile folds. Rows are streamed, never all held in
// memory; each Hit is fresh, so fn may keep it. The first error of fn
// stops the scan and is returned as is.
//
// The decoded Hit has no Email or CookieID (never stored), no ClickTTL,
// Valuation, PrevConvStatus or PrevValue (not stored either), Macros nil
// when there were none (else with sensitive values REDACTED, see
// macroArrays) and a Time with millisecond precision. For rejected rows webinar_ids is what the hit
// named (Webinars); for decided rows it is Credited (non-nil).
func (c *Client) Rows(ctx context.Context, account string, fn func(storage.Hit) error) error {
	q, args := rowsSQL, []any(nil)
	if account != "" {
		q, args = q+" WHERE account = ?", []any{account}
	}
	q += " ORDER BY ts_ms, hit_id"
	rows, err := c.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("cannot query hit rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		h, err := scanHit(rows)
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read hit rows: %w", err)
	}
	return nil
}

// rowScanner is what scanHit reads (driver.Rows).
type rowScanner interface{ Scan(dest ...any) error }

// scanHit decodes one row of rowsSQL's columns.
func scanHit(rows rowScanner) (storage.Hit, error) {
	var (
		h             storage.Hit
		tsMS          uint64
		status, tag   string
		webinars      []string
		amount, delta int64
		hasAmount     uint8
		keys, values  []string
		cost          int64
	)
	err := rows.Scan(&h.ID, &tsMS, &h.Account, &h.Kind, &status, &h.Reason,
		&webinars, &tag, &h.OrderID, &amount, &delta, &h.Currency,
		&h.AttendeeID, &h.EmailSHA256, &h.ClickID, &h.CampaignID, &h.IP,
		&h.UserAgent, &h.Referer, &h.Query, &h.OrderKey, &hasAmount,
		&h.ProductID, &h.ProductName, &h.Source, &keys, &values, &cost,
		&h.SourceID, &h.NetworkID, &h.Goal, &h.TxID, &h.ConvStatus, &h.RawStatus)
	if err != nil {
		return h, fmt.Errorf("cannot read hit row: %w", err)
	}
	h.Time = time.UnixMilli(int64(tsMS)).UTC()
	h.Status = storage.Status(status)
	h.Amount, h.Delta = attribution.Micros(amount), attribution.Micros(delta)
	h.HasAmount = hasAmount == 1
	h.Cost = attribution.Micros(cost)
	if len(keys) > 0 && len(keys) == len(values) {
		h.Macros = make(map[string]string, len(keys))
		for i, k := range keys {
			h.Macros[k] = values[i]
		}
	}
	if tag != "" {
		h.Tags = strings.Split(tag, ",")
	}
	if webinars == nil {
		webinars = []string{}
	}
	if h.Status == storage.StatusRejected {
		if len(webinars) > 0 {
			h.Webinars = webinars
		}
	} else {
		h.Credited = webinars
	}
	return h, nil
}

// LogRows returns up to q.Limit rows matching q, newest first
// (storage.Reports; report.LogQuery says what matches).
func (c *Client) LogRows(ctx context.Context, account string, q report.LogQuery) ([]storage.Hit, error) {
	r := newTimeRange(q.Range)
	where := []string{"account = ?", "has(?, kind)", rangeSQL}
	args := append([]any{account, q.Kinds}, r.args()...)
	if len(q.Statuses) > 0 {
		where, args = append(where, "has(?, status)"), append(args, q.Statuses)
	}
	for _, f := range []struct{ expr, v string }{
		{"campaign_id", q.Campaign}, {"source_id", q.Source}, {"network_id", q.Network},
		{"click_id", q.ClickID}, {"txid", q.TxID}, {"goal", q.Goal}, {"order_id", q.OrderID},
		{zoneSQL, q.Zone}, {countrySQL, q.Country},
	} {
		if f.v != "" {
			where, args = append(where, f.expr+" = ?"), append(args, f.v)
		}
	}
	if q.Webinar != "" {
		where, args = append(where, "has(webinar_ids, ?)"), append(args, q.Webinar)
	}
	if !q.Before.IsZero() {
		where = append(where, "ts <= toDateTime(?)", "(ts_ms < ? OR (ts_ms = ? AND hit_id < ?))")
		args = append(args, q.Before.Millis/1000, q.Before.Millis, q.Before.Millis, q.Before.HitID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = report.DefaultLogLimit
	}
	sql := rowsSQL + "\nWHERE " + strings.Join(where, " AND ") + "\nORDER BY ts_ms DESC, hit_id DESC LIMIT " + strconv.Itoa(limit)
	return c.queryHits(ctx, "log rows", sql, args...)
}

// ClickRows returns the accepted clicks with these ids and the postbacks
// that created or changed their conversions, oldest first
// (storage.Reports).
func (c *Client) ClickRows(ctx context.Context, account string, clickIDs []string) ([]storage.Hit, error) {
	if len(clickIDs) == 0 {
		return nil, nil
	}
	sql := rowsSQL + `
WHERE account = ? AND kind IN ('click', 'postback') AND has(?, click_id)
    AND ((kind = 'click' AND status = 'accepted') OR (kind = 'postback' AND status IN ('accepted', 'updated')))
ORDER BY ts_ms, hit_id`
	return c.queryHits(ctx, "click rows", sql, account, clickIDs)
}

func (c *Client) queryHits(ctx context.Context, what, sql string, args ...any) ([]storage.Hit, error) {
	rows, err := c.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query %s: %w", what, err)
	}
	defer rows.Close()
	var out []storage.Hit
	for rows.Next() {
		h, err := scanHit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", what, err)
	}
	return out, nil
}
