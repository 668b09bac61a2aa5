package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pixelpost/pixelpost/report"
)

// macroSQL is the value of a click macro (” when absent: arrayElement
// with index 0 gives the default).
func macroSQL(name string) string {
	return "arrayElement(macro_values, indexOf(macro_keys, '" + name + "'))"
}

// zoneSQL and countrySQL are report.Zone and report.Country over a row.
var (
	zoneSQL    = "if(" + macroSQL("zone_id") + " != '', " + macroSQL("zone_id") + ", " + macroSQL("zoneid") + ")"
	countrySQL = macroSQL("country")
)

// dimSQL is the expression of a dimension over a hits row, and the
// arguments its placeholders take. The source and network of a postback
// row are its click's (click_source and click_network, from the join of
// clickJoinSQL), as click rows carry them and postback rows may not; the
// row's own are the fallback.
func dimSQL(dim, tz string) (string, []any) {
	switch dim {
	case report.DimCampaign:
		return "campaign_id", nil
	case report.DimSource:
		return "if(click_source != '', click_source, source_id)", nil
	case report.DimNetwork:
		return "if(click_network != '', click_network, network_id)", nil
	case report.DimZone:
		return zoneSQL, nil
	case report.DimCountry:
		return countrySQL, nil
	case report.DimDay:
		return "toString(toDate(ts, ?))", []any{tz}
	}
	panic("clickhouse: unknown dimension " + dim) // report.CampaignQuery.Check refuses it first
}

// The rows of a campaign report: accepted clicks, and postbacks that
// created (accepted) or changed (updated) a conversion.
const campaignRowsSQL = `account = ? AND kind IN ('click', 'postback')
    AND ((kind = 'click' AND status = 'accepted') OR (kind = 'postback' AND status IN ('accepted', 'updated')))
    AND ` + rangeSQL

// clickJoinSQL gives each postback its click's source and network. Only
// clicks that have a postback in the period are looked up, which bounds
// the join's memory by the period's conversions. GLOBAL: on a cluster
// (ClusterDDL) a click and its postbacks have different hit ids, so they
// are on different shards; the lookup runs once over the whole cluster
// and its result goes to every shard (18.16 refuses a subquery over a
// Distributed table in a query over one without it). On one server
// GLOBAL changes nothing.
const clickJoinSQL = `
GLOBAL ANY LEFT JOIN (
    SELECT click_id, source_id AS click_source, network_id AS click_network
    FROM hits FINAL
    WHERE account = ? AND kind = 'click' AND status = 'accepted' AND ts <= toDateTime(?)
        AND click_id GLOBAL IN (SELECT click_id FROM hits WHERE account = ? AND kind = 'postback' AND ` + rangeSQL + `)
) USING click_id`

// campaignQuery builds a report's SQL: base is the deduped click and
// postback rows that count, filtered, with the group columns g0, g1, ...
type campaignQuery struct {
	groups    []string // g0, g1, ...
	base      string
	baseArgs  []any
	groupList string // "g0, g1, " or ""
}

func newCampaignQuery(account string, q report.CampaignQuery, groupBy []string, r timeRange, tz string) campaignQuery {
	var cq campaignQuery
	var cols strings.Builder
	join := false
	for i, d := range groupBy {
		name := fmt.Sprintf("g%d", i)
		cq.groups = append(cq.groups, name)
		expr, args := dimSQL(d, tz)
		fmt.Fprintf(&cols, ", %s AS %s", expr, name)
		cq.baseArgs = append(cq.baseArgs, args...)
		join = join || d == report.DimSource || d == report.DimNetwork
	}
	for d := range q.Filters {
		join = join || d == report.DimSource || d == report.DimNetwork
	}
	if len(cq.groups) > 0 {
		cq.groupList = strings.Join(cq.groups, ", ") + ", "
	}
	cq.base = `SELECT kind, status, currency, cost, delta, click_id, txid, goal, conv_status, ts_ms, hit_id` + cols.String() + `
FROM hits FINAL`
	if join {
		cq.base += clickJoinSQL
		cq.baseArgs = append(cq.baseArgs, account, r.toS, account)
		cq.baseArgs = append(cq.baseArgs, r.args()...)
	}
	cq.base += "\nWHERE " + campaignRowsSQL
	cq.baseArgs = append(cq.baseArgs, account)
	cq.baseArgs = append(cq.baseArgs, r.args()...)
	for _, d := range report.Dims { // a fixed order: the same SQL for the same filters
		v, ok := q.Filters[d]
		if !ok {
			continue
		}
		expr, args := dimSQL(d, tz)
		cq.base += "\n    AND " + expr + " = ?"
		cq.baseArgs = append(append(cq.baseArgs, args...), v)
	}
	return cq
}

// sums: counts and money by group and currency (18.16's sumMap takes no
// String keys); the counts are added up across currencies in Go.
func (q campaignQuery) sums() string {
	return `SELECT ` + q.groupList + `currency,
    countIf(kind = 'click') AS clicks,
    sumIf(cost, kind = 'click') AS cost_sum,
    countIf(kind = 'click' AND cost != 0) AS costed,
    sumIf(delta, kind = 'postback') AS revenue_sum,
    countIf(kind = 'postback') AS revenue_rows
FROM (` + q.base + `)
GROUP BY ` + q.groupList + `currency
ORDER BY ` + q.groupList + `currency`
}

// conversions: the group's conversions by the status of their latest
// postback in it.
func (q campaignQuery) conversions() string {
	outer := ""
	if len(q.groups) > 0 {
		outer = "\nGROUP BY " + strings.Join(q.groups, ", ")
	}
	return `SELECT ` + q.groupList + `count() AS conversions,
    countIf(last_status = 'approved') AS approved,
    countIf(last_status = 'pending') AS pending,
    countIf(last_status = 'declined') AS declined,
    countIf(last_status = 'chargeback') AS chargeback
FROM (
    SELECT ` + q.groupList + `click_id,
        if(txid != '', concat('t|', txid), concat('g|', if(goal = '', 'default', goal))) AS conv,
        argMax(conv_status, (ts_ms, hit_id)) AS last_status
    FROM (` + q.base + `)
    WHERE kind = 'postback'
    GROUP BY ` + q.groupList + `click_id, conv
)` + outer
}

// CampaignSums adds up the campaign report (storage.Reports). Rows are
// deduped (FINAL); groups are keyed by their values.
func (c *Client) CampaignSums(ctx context.Context, account string, q report.CampaignQuery) (report.CampaignResult, error) {
	var res report.CampaignResult
	if err := q.Check(); err != nil {
		return res, err
	}
	tz, err := checkTZ(q.TZ)
	if err != nil {
		return res, err
	}
	r := newTimeRange(q.Range)
	groups, err := c.campaignGroups(ctx, newCampaignQuery(account, q, q.GroupBy, r, tz), len(q.GroupBy))
	if err != nil {
		return res, err
	}
	res.Groups = groups
	total, err := c.campaignGroups(ctx, newCampaignQuery(account, q, nil, r, tz), 0)
	if err != nil {
		return res, err
	}
	res.Total = report.CampaignSums{Group: []string{}, Revenue: map[string]int64{}, Cost: map[string]int64{}}
	if len(total) > 0 {
		res.Total = total[0]
	}
	return res, nil
}

// campaignGroups runs the two queries of one grouping and merges them.
func (c *Client) campaignGroups(ctx context.Context, q campaignQuery, levels int) ([]report.CampaignSums, error) {
	var out []report.CampaignSums
	index := make(map[string]int)
	keys := make([]string, levels)
	dest := make([]any, 0, levels+6)
	for i := range keys {
		dest = append(dest, &keys[i])
	}
	group := func() *report.CampaignSums {
		var k string
		for _, v := range keys { // length-prefixed: values may hold any byte
			k += strconv.Itoa(len(v)) + ":" + v
		}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, report.CampaignSums{Group: append([]string{}, keys...),
				Revenue: map[string]int64{}, Cost: map[string]int64{}})
		}
		return &out[i]
	}

	rows, err := c.conn.Query(ctx, q.sums(), q.baseArgs...)
	if err != nil {
		return nil, fmt.Errorf("cannot query campaign report: %w", err)
	}
	defer rows.Close()
	var (
		currency                    string
		clicks, costed, revenueRows uint64
		costSum, revenueSum         int64
	)
	sumDest := append(dest, &currency, &clicks, &costSum, &costed, &revenueSum, &revenueRows)
	for rows.Next() {
		if err := rows.Scan(sumDest...); err != nil {
			return nil, fmt.Errorf("cannot read campaign report: %w", err)
		}
		g := group()
		g.Clicks += int64(clicks)
		if costed > 0 {
			g.Cost[currency] += costSum
		}
		if revenueRows > 0 {
			g.Revenue[currency] += revenueSum
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read campaign report: %w", err)
	}

	conv, err := c.conn.Query(ctx, q.conversions(), q.baseArgs...)
	if err != nil {
		return nil, fmt.Errorf("cannot query campaign conversions: %w", err)
	}
	defer conv.Close()
	var n, approved, pending, declined, chargeback uint64
	convDest := append(dest, &n, &approved, &pending, &declined, &chargeback)
	for conv.Next() {
		if err := conv.Scan(convDest...); err != nil {
			return nil, fmt.Errorf("cannot read campaign conversions: %w", err)
		}
		if n == 0 {
			continue // count() of nothing: one row of zeros
		}
		// A group with conversions has postback rows, so the first query
		// saw it too, unless rows were shipped in between: then it shows
		// in this report with its counts, and complete in the next one.
		g := group()
		g.Conversions, g.Approved, g.Pending = int64(n), int64(approved), int64(pending)
		g.Declined, g.Chargeback = int64(declined), int64(chargeback)
	}
	if err := conv.Err(); err != nil {
		return nil, fmt.Errorf("cannot read campaign conversions: %w", err)
	}
	return out, nil
}
