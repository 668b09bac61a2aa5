package hitindex

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// Conversion statuses as the aggregation keeps them (the canonical ones of
// attribution.ConvStatus; anything else counts as a conversion only).
const (
	convOther uint8 = iota
	convApproved
	convPending
	convDeclined
	convChargeback
)

func convCode(s string) uint8 {
	switch s {
	case "approved":
		return convApproved
	case "pending":
		return convPending
	case "declined":
		return convDeclined
	case "chargeback":
		return convChargeback
	}
	return convOther
}

// campaignAgg adds up one grouping of a campaign report.
type campaignAgg struct {
	groups map[string]*campaignGroup
	order  []*campaignGroup
}

type campaignGroup struct {
	sums report.CampaignSums
	// conv is the status of each conversion's latest postback in the group
	// (rows come oldest first, so the last one seen wins).
	conv map[string]*uint8
}

func newCampaignAgg() *campaignAgg { return &campaignAgg{groups: map[string]*campaignGroup{}} }

// group returns the group of key (vals its values, aliased: cloned here
// when the group is new).
func (a *campaignAgg) group(key []byte, vals []string) *campaignGroup {
	if g, ok := a.groups[string(key)]; ok {
		return g
	}
	g := &campaignGroup{sums: report.CampaignSums{Group: make([]string, len(vals)),
		Revenue: map[string]int64{}, Cost: map[string]int64{}}, conv: map[string]*uint8{}}
	for i, v := range vals {
		g.sums.Group[i] = clone(v)
	}
	a.groups[string(key)] = g
	a.order = append(a.order, g)
	return g
}

// add counts a click or a postback of the group; convKey identifies the
// postback's conversion.
func (g *campaignGroup) add(f *fact, click bool, convKey []byte) {
	if click {
		g.sums.Clicks++
		if f.cost != 0 {
			addMoney(g.sums.Cost, f.currency, f.cost)
		}
		return
	}
	addMoney(g.sums.Revenue, f.currency, f.delta)
	code := convCode(f.convStatus)
	if st, ok := g.conv[string(convKey)]; ok {
		*st = code
		return
	}
	g.conv[string(convKey)] = &code
}

// sums returns the group's sums with its conversions counted by status.
func (g *campaignGroup) result() report.CampaignSums {
	s := g.sums
	s.Conversions = int64(len(g.conv))
	for _, st := range g.conv {
		switch *st {
		case convApproved:
			s.Approved++
		case convPending:
			s.Pending++
		case convDeclined:
			s.Declined++
		case convChargeback:
			s.Chargeback++
		}
	}
	return s
}

// addMoney adds v to m[cur]; a new key is cloned (cur may alias a page).
func addMoney(m map[string]int64, cur string, v int64) {
	if _, ok := m[cur]; !ok {
		m[clone(cur)] = v
		return
	}
	m[cur] += v
}

// CampaignSums adds up the campaign report (storage.Reports) in one scan
// of the period's facts: the groups and the totals together.
func (x *Index) CampaignSums(ctx context.Context, account string, q report.CampaignQuery) (report.CampaignResult, error) {
	var res report.CampaignResult
	if err := q.Check(); err != nil {
		return res, err
	}
	days, err := newDayOf(q.TZ)
	if err != nil {
		return res, err
	}
	groups, total := newCampaignAgg(), newCampaignAgg()
	vals := make([]string, len(q.GroupBy))
	var key, convKey []byte
	accepted, updated := string(storage.StatusAccepted), string(storage.StatusUpdated)
	err = x.scanFacts(ctx, account, q.Range, func(ms int64, _ string, f *fact) {
		click := f.kind == storage.KindClick && f.status == accepted
		if !click && !(f.kind == storage.KindPostback && (f.status == accepted || f.status == updated)) {
			return
		}
		value := func(dim string) string {
			switch dim {
			case report.DimCampaign:
				return f.campaign
			case report.DimSource: // the click's, else the row's own
				if f.clickSource != "" {
					return f.clickSource
				}
				return f.source
			case report.DimNetwork:
				if f.clickNetwork != "" {
					return f.clickNetwork
				}
				return f.network
			case report.DimZone:
				return f.zone
			case report.DimCountry:
				return f.country
			case report.DimDay:
				return days.of(ms)
			}
			panic("hitindex: unknown dimension " + dim) // q.Check refused it
		}
		for d, v := range q.Filters {
			if value(d) != v {
				return
			}
		}
		key = key[:0]
		for i, d := range q.GroupBy {
			vals[i] = value(d)
			key = binary.AppendUvarint(key, uint64(len(vals[i]))) // values may hold any byte
			key = append(key, vals[i]...)
		}
		if !click {
			convKey = append(append(append(convKey[:0], f.clickID...), 0), storage.ConvKey("", f.txid, f.goal)...)
		}
		groups.group(key, vals).add(f, click, convKey)
		total.group(nil, nil).add(f, click, convKey)
	})
	if err != nil {
		return res, fmt.Errorf("cannot add up the campaign report: %w", err)
	}
	for _, g := range groups.order {
		res.Groups = append(res.Groups, g.result())
	}
	res.Total = report.CampaignSums{Group: []string{}, Revenue: map[string]int64{}, Cost: map[string]int64{}}
	if len(total.order) > 0 {
		res.Total = total.order[0].result()
	}
	return res, nil
}
