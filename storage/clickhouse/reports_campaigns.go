package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrBadGroupBy is wrapped by CampaignReport's error for a group_by it
// does not know (or names twice).
var ErrBadGroupBy = errors.New("invalid group_by")

// The dimensions of CampaignReport (the group_by values of SPEC §8).
const (
	GroupCampaign = "campaign" // campaign_id
	GroupSource   = "source"   // the click's traffic source (campaign's source_id when clicked)
	GroupNetwork  = "network"  // the click's affiliate network, else the postback's
	GroupZone     = "zone"     // macro zone_id, else zoneid
	GroupCountry  = "country"  // macro country, as the traffic source sent it
	GroupDay      = "day"      // calendar day of the row's own time, in the report's time zone
)

// GroupBys lists the dimensions CampaignReport accepts.
var GroupBys = []string{GroupCampaign, GroupSource, GroupNetwork, GroupZone, GroupCountry, GroupDay}

// CampaignRow is one group of a campaign report. Money is in micro-units,
// per currency, never summed across currencies; every map is non-nil.
type CampaignRow struct {
	// The group's values; "" for a dimension not grouped by (and for rows
	// without the value, e.g. a click without zone macro).
	Campaign, Source, Network, Zone, Country string
	Day                                      string // "2006-01-02"

	// Clicks is the number of accepted clicks.
	Clicks int64
	// Conversions is the number of new conversions: postbacks accepted
	// (the first postback of a (click, txid|goal) conversion, whatever its
	// status). Repeats (duplicate), refused postbacks (rejected) and later
	// status or payout changes (updated) do not add conversions.
	Conversions int64
	// Approved is the number of conversions (click, txid|goal) whose last
	// accepted or updated postback in the group (and period) has status
	// approved: pending then approved counts, approved then chargeback
	// does not.
	Approved int64
	// Revenue is sum(delta) of accepted and updated postbacks, by the
	// postback's currency: approved values count, a later decline or
	// chargeback subtracts them again. A currency is present when the
	// group has such postbacks in it, even if they sum to 0 (pending).
	Revenue map[string]int64
	// Cost is the sum of the accepted clicks' costs, by the campaign
	// currency the click was recorded in; currencies whose clicks all cost
	// 0 are absent.
	Cost map[string]int64

	// CR is Conversions / Clicks (0 without clicks).
	CR float64
	// EPC is Revenue / Clicks per currency, rounded to the micro-unit
	// (empty without clicks).
	EPC map[string]int64
	// Profit is Revenue - Cost per currency, for every currency of either
	// (a currency missing on one side counts 0 there): a revenue in USD and
	// a cost in EUR give {"USD": +revenue, "EUR": -cost}, never a sum.
	Profit map[string]int64
	// ROI is Profit / Cost, only when the group's revenue and cost are all
	// in one currency and that cost is positive: then it has that single
	// currency, else it is empty (a return across currencies needs an
	// exchange rate this report does not have).
	ROI map[string]float64
}

// Group returns the row's value of a dimension (GroupCampaign, ...).
func (r *CampaignRow) Group(dim string) string {
	switch dim {
	case GroupCampaign:
		return r.Campaign
	case GroupSource:
		return r.Source
	case GroupNetwork:
		return r.Network
	case GroupZone:
		return r.Zone
	case GroupCountry:
		return r.Country
	case GroupDay:
		return r.Day
	}
	return ""
}

func (r *CampaignRow) setGroup(dim, v string) {
	switch dim {
	case GroupCampaign:
		r.Campaign = v
	case GroupSource:
		r.Source = v
	case GroupNetwork:
		r.Network = v
	case GroupZone:
		r.Zone = v
	case GroupCountry:
		r.Country = v
	case GroupDay:
		r.Day = v
	}
}

// macroSQL is the value of a click macro (” when absent: arrayElement
// with index 0 gives the default).
func macroSQL(name string) string {
	return "arrayElement(macro_values, indexOf(macro_keys, '" + name + "'))"
}

// groupSQL is the expression of a dimension over a hits row. The source
// and network of a postback row are its click's (click_source and
// click_network, from the join of campaignBaseSQL), as click rows carry
// them and postback rows may not; the row's own are the fallback.
func groupSQL(dim string) string {
	switch dim {
	case GroupCampaign:
		return "campaign_id"
	case GroupSource:
		return "if(click_source != '', click_source, source_id)"
	case GroupNetwork:
		return "if(click_network != '', click_network, network_id)"
	case GroupZone:
		return "if(" + macroSQL("zone_id") + " != '', " + macroSQL("zone_id") + ", " + macroSQL("zoneid") + ")"
	case GroupCountry:
		return macroSQL("country")
	case GroupDay:
		return "toString(toDate(ts, ?))"
	}
	panic("clickhouse: unknown group " + dim)
}

func checkGroupBy(groupBy []string) error {
	seen := make(map[string]bool, len(groupBy))
	for _, g := range groupBy {
		known := false
		for _, k := range GroupBys {
			known = known || g == k
		}
		if !known {
			return fmt.Errorf("%w: unknown %q (want %s)", ErrBadGroupBy, g, strings.Join(GroupBys, ", "))
		}
		if seen[g] {
			return fmt.Errorf("%w: %q named twice", ErrBadGroupBy, g)
		}
		seen[g] = true
	}
	return nil
}

// campaignQuery builds the report's SQL: base is the deduped click and
// postback rows that count, with the group columns g0, g1, ...
type campaignQuery struct {
	groups    []string // g0, g1, ...
	base      string
	baseArgs  []any
	groupList string // "g0, g1, " or ""
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

func newCampaignQuery(account string, groupBy []string, r timeRange, tz string) campaignQuery {
	var q campaignQuery
	var cols strings.Builder
	join := false
	for i, g := range groupBy {
		name := fmt.Sprintf("g%d", i)
		q.groups = append(q.groups, name)
		fmt.Fprintf(&cols, ", %s AS %s", groupSQL(g), name)
		if g == GroupDay {
			q.baseArgs = append(q.baseArgs, tz)
		}
		join = join || g == GroupSource || g == GroupNetwork
	}
	if len(q.groups) > 0 {
		q.groupList = strings.Join(q.groups, ", ") + ", "
	}
	q.base = `SELECT kind, status, currency, cost, delta, click_id, txid, goal, conv_status, ts_ms, hit_id` + cols.String() + `
FROM hits FINAL`
	if join {
		q.base += clickJoinSQL
		q.baseArgs = append(q.baseArgs, account, r.toS, account)
		q.baseArgs = append(q.baseArgs, r.args()...)
	}
	q.base += "\nWHERE " + campaignRowsSQL
	q.baseArgs = append(q.baseArgs, account)
	q.baseArgs = append(q.baseArgs, r.args()...)
	return q
}

// totals: counts and money by group and currency (18.16's sumMap takes no
// String keys); the counts are added up across currencies in Go.
func (q campaignQuery) totals() string {
	return `SELECT ` + q.groupList + `currency,
    countIf(kind = 'click') AS clicks,
    countIf(kind = 'postback' AND status = 'accepted') AS conversions,
    sumIf(cost, kind = 'click') AS cost_sum,
    countIf(kind = 'click' AND cost != 0) AS costed,
    sumIf(delta, kind = 'postback') AS revenue_sum,
    countIf(kind = 'postback') AS revenue_rows
FROM (` + q.base + `)
GROUP BY ` + q.groupList + `currency
ORDER BY ` + q.groupList + `currency`
}

// approved: conversions whose last postback of the group is approved.
func (q campaignQuery) approved() string {
	outer := ""
	if len(q.groups) > 0 {
		outer = "\nGROUP BY " + strings.Join(q.groups, ", ")
	}
	return `SELECT ` + q.groupList + `count() AS approved
FROM (
    SELECT ` + q.groupList + `click_id,
        if(txid != '', concat('t|', txid), concat('g|', if(goal = '', 'default', goal))) AS conv,
        argMax(conv_status, (ts_ms, hit_id)) AS last_status
    FROM (` + q.base + `)
    WHERE kind = 'postback'
    GROUP BY ` + q.groupList + `click_id, conv
)
WHERE last_status = 'approved'` + outer
}

// CampaignReport returns the account's clicks, conversions, revenue and
// cost in [from, to), grouped by groupBy (a subset of GroupBys, in the
// order given; none: one row of totals), ordered by the group values. Days
// are calendar days in tz (an IANA name; "" is UTC). Groups without
// clicks or conversions are absent. Rows are deduped (FINAL).
//
// Every row is counted in the period and the group of its own: a click by
// its time, a postback by its time (a conversion of a click made before
// from counts when its postback is in range). Clicks and conversions of a
// group meet because a postback row carries its click's campaign and
// macros (zone, country); its source and network are looked up on its
// click. With GroupDay, a click and its conversion may land on different
// days: each on the day it happened.
func (c *Client) CampaignReport(ctx context.Context, account string, groupBy []string, from, to time.Time, tz string) ([]CampaignRow, error) {
	if err := checkGroupBy(groupBy); err != nil {
		return nil, err
	}
	tz, err := checkTZ(tz)
	if err != nil {
		return nil, err
	}
	q := newCampaignQuery(account, groupBy, newTimeRange(from, to), tz)

	var out []CampaignRow
	index := make(map[string]int)
	keys := make([]string, len(groupBy))
	dest := make([]any, 0, len(groupBy)+7)
	for i := range keys {
		dest = append(dest, &keys[i])
	}

	rows, err := c.conn.Query(ctx, q.totals(), q.baseArgs...)
	if err != nil {
		return nil, fmt.Errorf("cannot query campaign report: %w", err)
	}
	defer rows.Close()
	var (
		currency                                 string
		clicks, conversions, costed, revenueRows uint64
		costSum, revenueSum                      int64
	)
	dest = append(dest, &currency, &clicks, &conversions, &costSum, &costed, &revenueSum, &revenueRows)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("cannot read campaign report: %w", err)
		}
		k := strings.Join(keys, "\x00")
		i, ok := index[k]
		if !ok {
			row := CampaignRow{Revenue: map[string]int64{}, Cost: map[string]int64{}}
			for j, g := range groupBy {
				row.setGroup(g, keys[j])
			}
			i = len(out)
			index[k] = i
			out = append(out, row)
		}
		row := &out[i]
		row.Clicks += int64(clicks)
		row.Conversions += int64(conversions)
		if costed > 0 {
			row.Cost[currency] += costSum
		}
		if revenueRows > 0 {
			row.Revenue[currency] += revenueSum
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read campaign report: %w", err)
	}

	appr, err := c.conn.Query(ctx, q.approved(), q.baseArgs...)
	if err != nil {
		return nil, fmt.Errorf("cannot query campaign conversions: %w", err)
	}
	defer appr.Close()
	var n uint64
	dest = append(dest[:len(groupBy)], &n)
	for appr.Next() {
		if err := appr.Scan(dest...); err != nil {
			return nil, fmt.Errorf("cannot read campaign conversions: %w", err)
		}
		i, ok := index[strings.Join(keys, "\x00")]
		if !ok {
			// Rows shipped between the two queries (or count() of nothing,
			// one row of 0): the group shows up in the next report.
			continue
		}
		out[i].Approved = int64(n)
	}
	if err := appr.Err(); err != nil {
		return nil, fmt.Errorf("cannot read campaign conversions: %w", err)
	}

	for i := range out {
		out[i].derive()
	}
	return out, nil
}

// derive computes CR, EPC, Profit and ROI from the counts and sums.
func (r *CampaignRow) derive() {
	r.EPC, r.Profit, r.ROI = map[string]int64{}, map[string]int64{}, map[string]float64{}
	if r.Clicks > 0 {
		r.CR = float64(r.Conversions) / float64(r.Clicks)
		for cur, rev := range r.Revenue {
			r.EPC[cur] = int64(math.Round(float64(rev) / float64(r.Clicks)))
		}
	}
	for cur, rev := range r.Revenue {
		r.Profit[cur] += rev
	}
	for cur, cost := range r.Cost {
		r.Profit[cur] -= cost
	}
	if len(r.Profit) == 1 {
		for cur, profit := range r.Profit {
			if cost := r.Cost[cur]; cost > 0 {
				r.ROI[cur] = float64(profit) / float64(cost)
			}
		}
	}
}
