package report

import (
	"fmt"
	"math"
	"time"
)

// Range is the period of a report: hits with From <= time < To. A zero
// From is the beginning, a zero To no end.
type Range struct {
	From, To time.Time
}

// MillisBounds is the range as bounds on a hit's time in Unix milliseconds
// (what both stores key hits by): fromMS <= ms < toMS. Times before 1970
// count as 0, as the hits table stores them.
func (r Range) MillisBounds() (fromMS, toMS int64) {
	if !r.From.IsZero() {
		fromMS = max(r.From.UnixMilli(), 0)
	}
	toMS = math.MaxInt64
	if !r.To.IsZero() {
		toMS = max(r.To.UnixMilli(), 0)
	}
	return fromMS, toMS
}

// Date presets (?preset=), calendar days in the report's time zone.
const (
	PresetToday      = "today"
	PresetYesterday  = "yesterday"
	PresetLast7Days  = "last_7_days"  // today and the 6 days before
	PresetLast30Days = "last_30_days" // today and the 29 days before
	PresetThisMonth  = "this_month"
	PresetLastMonth  = "last_month"
)

// Presets lists the presets Period knows.
var Presets = []string{PresetToday, PresetYesterday, PresetLast7Days, PresetLast30Days, PresetThisMonth, PresetLastMonth}

// Period returns the range of a preset at now, in loc: from the start of
// its first day to the start of the day after its last (today's periods
// end at midnight tonight, so a report asked again later in the day covers
// the same days). A day starts at its first instant in loc, also on a day
// whose midnight a DST change skips.
func Period(preset string, now time.Time, loc *time.Location) (Range, error) {
	n := now.In(loc)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	y, m, d := n.Date()
	today := day(y, m, d)
	tomorrow := day(y, m, d+1)
	switch preset {
	case PresetToday:
		return Range{today, tomorrow}, nil
	case PresetYesterday:
		return Range{day(y, m, d-1), today}, nil
	case PresetLast7Days:
		return Range{day(y, m, d-6), tomorrow}, nil
	case PresetLast30Days:
		return Range{day(y, m, d-29), tomorrow}, nil
	case PresetThisMonth:
		return Range{day(y, m, 1), day(y, m+1, 1)}, nil
	case PresetLastMonth:
		return Range{day(y, m-1, 1), day(y, m, 1)}, nil
	}
	return Range{}, fmt.Errorf("unknown preset %q (want one of %v)", preset, Presets)
}
