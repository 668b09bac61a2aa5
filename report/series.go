package report

import (
	"slices"
	"strings"
)

// DayPoint is one day of a webinar's series, in the report's time zone, as
// a store adds it up from the hits that credit the webinar (their
// webinar_ids: the webinars the ledger credited).
type DayPoint struct {
	Day         string // "2006-01-02"
	Registrants int64  // registrations accepted for the webinar that day
	Sales       int64  // pixel and manual conversions accepted (new orders)
	Conversions int64  // distinct attendees with an accepted or updated order
	// Revenue is the sum of the deltas of accepted and updated pixel and
	// manual conversions, in micro-units, by currency. Never nil.
	Revenue map[string]int64
}

// StatusCount is the number of hits of one kind, status and reason.
type StatusCount struct {
	Kind, Status, Reason string
	Count                int64
}

// DayView is a DayPoint as the API answers it.
type DayView struct {
	Day         string            `json:"day"`
	Registrants int64             `json:"registrants"`
	Sales       int64             `json:"sales"`
	Conversions int64             `json:"conversions"`
	Revenue     map[string]string `json:"revenue"`
}

// Series shapes a store's days, sorted (days without hits are absent).
func Series(points []DayPoint) []DayView {
	points = slices.Clone(points)
	slices.SortFunc(points, func(a, b DayPoint) int { return strings.Compare(a.Day, b.Day) })
	out := make([]DayView, 0, len(points))
	for _, p := range points {
		out = append(out, DayView{Day: p.Day, Registrants: p.Registrants, Sales: p.Sales,
			Conversions: p.Conversions, Revenue: money(p.Revenue)})
	}
	return out
}

// StatusView is a StatusCount as the API answers it.
type StatusView struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// Statuses shapes a store's counts, sorted by kind, status and reason.
func Statuses(counts []StatusCount) []StatusView {
	counts = slices.Clone(counts)
	slices.SortFunc(counts, func(a, b StatusCount) int {
		return slices.Compare([]string{a.Kind, a.Status, a.Reason}, []string{b.Kind, b.Status, b.Reason})
	})
	out := make([]StatusView, 0, len(counts))
	for _, c := range counts {
		out = append(out, StatusView{Kind: c.Kind, Status: c.Status, Reason: c.Reason, Count: c.Count})
	}
	return out
}
