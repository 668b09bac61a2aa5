package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pixelpost/pixelpost/attribution"
)

// ErrBadQuery is wrapped by the errors of CampaignQuery.Check and of the
// log queries: the request names something the reports do not know.
var ErrBadQuery = errors.New("invalid report query")

// The dimensions of the campaign report (group_by and drill-down filters).
const (
	DimCampaign = "campaign" // campaign id
	DimSource   = "source"   // the click's traffic source (its campaign's when clicked)
	DimNetwork  = "network"  // the click's affiliate network, else the postback's
	DimZone     = "zone"     // macro zone_id, else zoneid (Zone)
	DimCountry  = "country"  // macro country, as the traffic source sent it
	DimDay      = "day"      // calendar day of the hit's own time in the report's time zone
)

// Dims lists the campaign report's dimensions.
var Dims = []string{DimCampaign, DimSource, DimNetwork, DimZone, DimCountry, DimDay}

// MaxLevels is the deepest grouping (campaign → zone → country).
const MaxLevels = 3

// Zone is the zone dimension of a click's macros: zone_id (ExoClick's
// {zone_id}), else zoneid. The ClickHouse store writes the same rule in SQL
// (the report suite binds the two).
func Zone(macros map[string]string) string {
	if z := macros["zone_id"]; z != "" {
		return z
	}
	return macros["zoneid"]
}

// Country is the country dimension of a click's macros.
func Country(macros map[string]string) string { return macros["country"] }

// CampaignQuery asks for a campaign report.
type CampaignQuery struct {
	// GroupBy are the levels, outermost first (at most MaxLevels; none:
	// the totals alone).
	GroupBy []string
	// Filters keep the rows whose dimension has exactly that value (""
	// keeps rows without it): the drill-down from a row of the level above.
	Filters map[string]string
	Range   Range
	// TZ is the IANA name of the zone of day buckets ("" is UTC).
	TZ string
}

// Check reports a query the stores cannot answer: an unknown or repeated
// dimension, too many levels, a filter on an unknown dimension.
func (q CampaignQuery) Check() error {
	if len(q.GroupBy) > MaxLevels {
		return fmt.Errorf("%w: group_by has %d levels, at most %d", ErrBadQuery, len(q.GroupBy), MaxLevels)
	}
	seen := map[string]bool{}
	for _, d := range q.GroupBy {
		if !slices.Contains(Dims, d) {
			return fmt.Errorf("%w: group_by %q is not one of %s", ErrBadQuery, d, strings.Join(Dims, ", "))
		}
		if seen[d] {
			return fmt.Errorf("%w: group_by names %q twice", ErrBadQuery, d)
		}
		seen[d] = true
	}
	for d := range q.Filters {
		if !slices.Contains(Dims, d) {
			return fmt.Errorf("%w: filter %q is not one of %s", ErrBadQuery, d, strings.Join(Dims, ", "))
		}
	}
	return nil
}

// CampaignSums are what a store adds up for one group of a campaign
// report, over the period and the filters:
//   - clicks: accepted clicks; cost: their cost by the currency the click
//     was recorded in, a currency present when some click has a cost;
//   - postbacks that created (accepted) or changed (updated) a conversion:
//     revenue is the sum of their deltas by the postback's currency, a
//     currency present when the group has such postbacks (even summing
//     to 0, pending ones);
//   - conversions: the distinct conversions (click id + txid, or goal)
//     with such a postback in the group, each counted once under the
//     status of its latest one there (by time, then hit id): approved,
//     pending, declined or chargeback.
//
// Every row counts in the group and period of its own time: a click by
// its time, a postback by its time (a conversion of a click made before
// the period counts when its postback is in it). A postback carries its
// click's campaign and macros (zone, country); its source and network are
// its click's.
type CampaignSums struct {
	Group       []string // the values of CampaignQuery.GroupBy, in order
	Clicks      int64
	Conversions int64
	Approved    int64
	Pending     int64
	Declined    int64
	Chargeback  int64
	Revenue     map[string]int64
	Cost        map[string]int64
}

// CampaignResult is a store's answer: a group per combination of values
// seen (groups with neither clicks nor conversions are absent), and the
// totals over the same period and filters (the report without grouping:
// a conversion approved on a later day counts once in the totals).
type CampaignResult struct {
	Groups []CampaignSums
	Total  CampaignSums
}

// CampaignRow is one line of the campaign report as the API answers it.
type CampaignRow struct {
	Group       map[string]string `json:"group"`
	Clicks      int64             `json:"clicks"`
	Conversions int64             `json:"conversions"`
	Approved    int64             `json:"approved"`
	Pending     int64             `json:"pending"`
	Declined    int64             `json:"declined"`
	Chargeback  int64             `json:"chargeback"`
	// CR is approved conversions per click, in percent (null without clicks).
	CR *string `json:"cr"`
	// Per currency, never summed across currencies.
	Revenue map[string]string `json:"revenue"`
	Cost    map[string]string `json:"cost"`
	Profit  map[string]string `json:"profit"`
	EPC     map[string]string `json:"epc"`
	CPC     map[string]string `json:"cpc"`
	// ROI is profit per cost in percent, given only when the row's money
	// is in one currency with a positive cost (see Converted otherwise).
	ROI map[string]string `json:"roi"`
	// Converted is the row in the account's currency at its fixed rates;
	// null when a currency of the row has no rate.
	Converted *Converted `json:"converted"`
}

// Converted is one figure across currencies: each currency's sum times
// its rate (exact), rounded to the micro-unit; Rates are those it used.
type Converted struct {
	Currency string            `json:"currency"`
	Revenue  string            `json:"revenue"`
	Cost     string            `json:"cost"`
	Profit   string            `json:"profit"`
	EPC      *string           `json:"epc"`
	CPC      *string           `json:"cpc"`
	ROI      *string           `json:"roi"`
	Rates    map[string]string `json:"rates"`
}

// CampaignReport is the campaign report as the API answers it.
type CampaignReport struct {
	GroupBy []string          `json:"group_by"`
	Filters map[string]string `json:"filters"`
	// Currency is the account's: Converted figures are in it.
	Currency string        `json:"currency"`
	Rows     []CampaignRow `json:"rows"`
	Totals   CampaignRow   `json:"totals"`
	// MissingRates lists the currencies of the report without a rate: rows
	// with them have no converted figures.
	MissingRates []string `json:"missing_rates"`
}

// Campaign derives the report from a store's sums: rows sorted by their
// group values, totals, each with its figures per currency and converted.
func Campaign(q CampaignQuery, res CampaignResult, rates Rates) CampaignReport {
	groups := slices.Clone(res.Groups)
	slices.SortFunc(groups, func(a, b CampaignSums) int { return slices.Compare(a.Group, b.Group) })
	out := CampaignReport{GroupBy: q.GroupBy, Filters: q.Filters, Currency: rates.currency,
		Rows: make([]CampaignRow, 0, len(groups)), Totals: campaignRow(nil, res.Total, rates),
		MissingRates: rates.missing(res.Total.Revenue, res.Total.Cost)}
	if out.GroupBy == nil {
		out.GroupBy = []string{}
	}
	if out.Filters == nil {
		out.Filters = map[string]string{}
	}
	for _, g := range groups {
		out.Rows = append(out.Rows, campaignRow(q.GroupBy, g, rates))
	}
	return out
}

func campaignRow(dims []string, s CampaignSums, rates Rates) CampaignRow {
	r := CampaignRow{Group: map[string]string{}, Clicks: s.Clicks, Conversions: s.Conversions,
		Approved: s.Approved, Pending: s.Pending, Declined: s.Declined, Chargeback: s.Chargeback,
		CR: percent(s.Approved, s.Clicks), Revenue: money(s.Revenue), Cost: money(s.Cost),
		Profit: map[string]string{}, EPC: map[string]string{}, CPC: map[string]string{}, ROI: map[string]string{}}
	for i, d := range dims {
		if i < len(s.Group) {
			r.Group[d] = s.Group[i]
		}
	}
	profit := map[string]int64{}
	for cur, v := range s.Revenue {
		profit[cur] += v
		if epc := perClick(attribution.Micros(v), s.Clicks); epc != nil {
			r.EPC[cur] = *epc
		}
	}
	for cur, v := range s.Cost {
		profit[cur] -= v
		if cpc := costPerClick(attribution.Micros(v), s.Clicks); cpc != nil {
			r.CPC[cur] = *cpc
		}
	}
	r.Profit = money(profit)
	if len(profit) == 1 {
		for cur, p := range profit {
			if roi := percent(p, s.Cost[cur]); roi != nil {
				r.ROI[cur] = *roi
			}
		}
	}
	used := map[string]string{}
	rev, okRev := rates.convert(s.Revenue, used)
	cost, okCost := rates.convert(s.Cost, used)
	if okRev && okCost {
		cur := rates.currency
		p := rev - cost
		r.Converted = &Converted{Currency: cur, Revenue: attribution.FormatAmount(rev, cur),
			Cost: attribution.FormatAmount(cost, cur), Profit: attribution.FormatAmount(p, cur),
			EPC: perClick(rev, s.Clicks), CPC: costPerClick(cost, s.Clicks), ROI: percent(int64(p), int64(cost)), Rates: used}
	}
	return r
}

// money formats micro-units per currency as decimal strings.
func money(m map[string]int64) map[string]string {
	out := make(map[string]string, len(m))
	for cur, v := range m {
		out[cur] = attribution.FormatAmount(attribution.Micros(v), cur)
	}
	return out
}
