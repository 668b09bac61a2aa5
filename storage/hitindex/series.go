package hitindex

import (
	"context"
	"fmt"
	"slices"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// WebinarSeries returns the days of r with hits of the webinar
// (storage.Reports): a day is listed when a conversion or registration
// row of any status credits (or, rejected, names) the webinar.
func (x *Index) WebinarSeries(ctx context.Context, account, webinarID string, r report.Range, tz string) ([]report.DayPoint, error) {
	days, err := newDayOf(tz)
	if err != nil {
		return nil, err
	}
	type dayAgg struct {
		p         report.DayPoint
		attendees map[string]bool
	}
	var out []*dayAgg
	byDay := map[string]*dayAgg{}
	accepted, updated := string(storage.StatusAccepted), string(storage.StatusUpdated)
	err = x.scanFacts(ctx, account, r, func(ms int64, _ string, f *fact) {
		sale := f.kind == storage.KindPixel || f.kind == storage.KindManual
		if !sale && f.kind != storage.KindRegistration || !slices.Contains(f.webinars, webinarID) {
			return
		}
		day := days.of(ms)
		d, ok := byDay[day]
		if !ok {
			d = &dayAgg{p: report.DayPoint{Day: day, Revenue: map[string]int64{}}, attendees: map[string]bool{}}
			byDay[day] = d
			out = append(out, d)
		}
		switch {
		case !sale:
			if f.status == accepted {
				d.p.Registrants++
			}
		case f.status == accepted || f.status == updated:
			if f.status == accepted {
				d.p.Sales++
			}
			if f.attendeeID != "" && !d.attendees[f.attendeeID] {
				d.attendees[clone(f.attendeeID)] = true
			}
			addMoney(d.p.Revenue, f.currency, f.delta)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cannot add up the webinar series: %w", err)
	}
	points := make([]report.DayPoint, 0, len(out))
	for _, d := range out {
		d.p.Conversions = int64(len(d.attendees))
		points = append(points, d.p)
	}
	return points, nil
}

// HitsByStatus counts the account's hits in r by kind, status and reason
// (storage.Reports).
func (x *Index) HitsByStatus(ctx context.Context, account string, r report.Range) ([]report.StatusCount, error) {
	counts := map[string]*report.StatusCount{}
	var out []*report.StatusCount
	var key []byte
	err := x.scanFacts(ctx, account, r, func(_ int64, _ string, f *fact) {
		key = append(append(append(append(append(key[:0], f.kind...), 0), f.status...), 0), f.reason...)
		c, ok := counts[string(key)]
		if !ok {
			c = &report.StatusCount{Kind: clone(f.kind), Status: clone(f.status), Reason: clone(f.reason)}
			counts[string(key)] = c
			out = append(out, c)
		}
		c.Count++
	})
	if err != nil {
		return nil, fmt.Errorf("cannot count hits by status: %w", err)
	}
	res := make([]report.StatusCount, 0, len(out))
	for _, c := range out {
		res = append(res, *c)
	}
	return res, nil
}
