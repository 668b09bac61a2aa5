package clickhouse

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pixelpost/pixelpost/report"
)

// Every report reads hits FINAL: see HitsDDL for why. Values are passed as
// query parameters (the driver quotes them), never concatenated.

// timeRange turns a report.Range into bounds on ts (seconds, for the
// primary key and partition pruning) and ts_ms (exact).
type timeRange struct {
	fromS, toS   int64
	fromMS, toMS uint64
}

func newTimeRange(r report.Range) timeRange {
	from, to := r.MillisBounds()
	tr := timeRange{fromMS: uint64(from), fromS: from / 1000, toMS: uint64(to), toS: min(to/1000, math.MaxUint32)}
	if to == math.MaxInt64 {
		tr.toMS = math.MaxUint64
	}
	return tr
}

const rangeSQL = `ts >= toDateTime(?) AND ts <= toDateTime(?) AND ts_ms >= ? AND ts_ms < ?`

func (r timeRange) args() []any { return []any{r.fromS, r.toS, r.fromMS, r.toMS} }

// checkTZ accepts IANA zone names only (validated with time.LoadLocation),
// which also keeps anything odd out of the query.
func checkTZ(tz string) (string, error) {
	if tz == "" {
		return "UTC", nil
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return "", fmt.Errorf("%w: invalid time zone %q", report.ErrBadQuery, tz)
	}
	return tz, nil
}

const seriesDaysSQL = `SELECT toString(toDate(ts, ?)) AS day,
    countIf(kind = 'registration' AND status = 'accepted') AS registrants,
    countIf(kind IN ('pixel', 'manual') AND status = 'accepted') AS sales,
    uniqExactIf(attendee_id, kind IN ('pixel', 'manual') AND status IN ('accepted', 'updated') AND attendee_id != '') AS conversions
FROM hits FINAL
WHERE account = ? AND kind IN ('pixel', 'manual', 'registration') AND has(webinar_ids, ?) AND ` + rangeSQL + `
GROUP BY day ORDER BY day`

// 18.16's sumMap takes no String keys, hence a second query by currency.
const seriesRevenueSQL = `SELECT toString(toDate(ts, ?)) AS day, currency, sum(delta) AS revenue
FROM hits FINAL
WHERE account = ? AND kind IN ('pixel', 'manual') AND status IN ('accepted', 'updated') AND has(webinar_ids, ?) AND ` + rangeSQL + `
GROUP BY day, currency ORDER BY day, currency`

// WebinarSeries returns, for each day in [from, to) with activity, the
// webinar's registrants, sales, converting attendees and revenue per
// currency. Days are calendar days in tz (an IANA name; "" is UTC). Days
// without hits are absent. A hit counts for the webinars in its
// webinar_ids (the webinars credited by the ledger).
func (c *Client) WebinarSeries(ctx context.Context, account, webinarID string, rg report.Range, tz string) ([]report.DayPoint, error) {
	tz, err := checkTZ(tz)
	if err != nil {
		return nil, err
	}
	r := newTimeRange(rg)
	args := append([]any{tz, account, webinarID}, r.args()...)

	var points []report.DayPoint
	byDay := make(map[string]int)
	rows, err := c.conn.Query(ctx, seriesDaysSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query webinar series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p report.DayPoint
		var reg, sales, conv uint64
		if err := rows.Scan(&p.Day, &reg, &sales, &conv); err != nil {
			return nil, fmt.Errorf("cannot read webinar series: %w", err)
		}
		p.Registrants, p.Sales, p.Conversions = int64(reg), int64(sales), int64(conv)
		p.Revenue = make(map[string]int64)
		byDay[p.Day] = len(points)
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read webinar series: %w", err)
	}

	rev, err := c.conn.Query(ctx, seriesRevenueSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query webinar revenue: %w", err)
	}
	defer rev.Close()
	for rev.Next() {
		var day, currency string
		var sum int64
		if err := rev.Scan(&day, &currency, &sum); err != nil {
			return nil, fmt.Errorf("cannot read webinar revenue: %w", err)
		}
		i, ok := byDay[day]
		if !ok { // every revenue row matches the first query too
			return nil, fmt.Errorf("cannot read webinar revenue: day %s missing from the series", day)
		}
		points[i].Revenue[currency] += sum
	}
	if err := rev.Err(); err != nil {
		return nil, fmt.Errorf("cannot read webinar revenue: %w", err)
	}
	return points, nil
}

const statusSQL = `SELECT kind, status, reason, count() AS n
FROM hits FINAL
WHERE account = ? AND ` + rangeSQL + `
GROUP BY kind, status, reason ORDER BY kind, status, reason`

// HitsByStatus counts the account's hits in [from, to) by kind, status and
// reason, ordered by those.
func (c *Client) HitsByStatus(ctx context.Context, account string, r report.Range) ([]report.StatusCount, error) {
	args := append([]any{account}, newTimeRange(r).args()...)
	rows, err := c.conn.Query(ctx, statusSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query hits by status: %w", err)
	}
	defer rows.Close()
	var out []report.StatusCount
	for rows.Next() {
		var s report.StatusCount
		var n uint64
		if err := rows.Scan(&s.Kind, &s.Status, &s.Reason, &n); err != nil {
			return nil, fmt.Errorf("cannot read hits by status: %w", err)
		}
		s.Count = int64(n)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read hits by status: %w", err)
	}
	return out, nil
}

// Accounts returns the accounts that have hits, sorted. Copies of a hit
// share its account, so no FINAL is needed.
func (c *Client) Accounts(ctx context.Context) ([]string, error) {
	rows, err := c.conn.Query(ctx, "SELECT DISTINCT account FROM hits ORDER BY account")
	if err != nil {
		return nil, fmt.Errorf("cannot query accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("cannot read accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read accounts: %w", err)
	}
	return out, nil
}
