package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// Figures for display: one line per case (micro-units, clicks or cost).
func TestFigures(t *testing.T) {
	pc := func(num, den int64, want string) {
		t.Helper()
		if got := percent(num, den); str(got) != want {
			t.Errorf("percent(%d, %d) = %s, want %s", num, den, str(got), want)
		}
	}
	pc(1, 3, "33.33")
	pc(2, 3, "66.67")
	pc(4, 3, "133.33")
	pc(1, 8, "12.50")
	pc(1, 800, "0.13") // 0.125: halves away from zero
	pc(-1, 800, "-0.13")
	pc(0, 5, "0.00")
	pc(5, 0, "null") // no clicks: no CR
	pc(-20_000, 20_000, "-100.00")

	epc := func(micros, clicks int64, want string) {
		t.Helper()
		if got := perClick(attributionMicros(micros), clicks); str(got) != want {
			t.Errorf("perClick(%d, %d) = %s, want %s", micros, clicks, str(got), want)
		}
	}
	epc(1_000_000, 7, "0.14") // 0.142857 EUR: what users saw before
	epc(6_200_000, 3, "2.07")
	epc(15_000, 1, "0.02") // 0.015
	epc(-15_000, 1, "-0.02")
	epc(0, 3, "0.00")
	epc(1, 0, "null")

	cpc := func(micros, clicks int64, want string) {
		t.Helper()
		if got := costPerClick(attributionMicros(micros), clicks); str(got) != want {
			t.Errorf("costPerClick(%d, %d) = %s, want %s", micros, clicks, str(got), want)
		}
	}
	cpc(3_500, 1, "0.0035") // sub-cent: 2 significant digits
	cpc(10_000, 3, "0.0033")
	cpc(1, 1, "0.000001")       // the micro-unit
	cpc(1, 3, "0.000000")       // below the micro-unit
	cpc(5_000, 1, "0.0050")     //
	cpc(9_999, 1, "0.0100")     // rounds up to a cent, still shown to 4 places
	cpc(10_000, 1, "0.01")      // a cent: 2 decimals
	cpc(25_000, 1, "0.03")      // 0.025
	cpc(1_234_567, 1, "1.23")   //
	cpc(0, 4, "0.00")           //
	cpc(3_500, 0, "null")       //
	cpc(-3_500, 1, "-0.0035")   //
	cpc(35_000_000, 1, "35.00") //
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestParseRates(t *testing.T) {
	r, err := ParseRates(map[string]string{"eur": "1.0800", "JPY": "0.0067", "IDR": "0.000061"}, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Map(); m["EUR"] != "1.08" || m["JPY"] != "0.0067" || m["IDR"] != "0.000061" || len(m) != 3 {
		t.Errorf("rates %v", m)
	}
	for _, bad := range []map[string]string{
		{"USD": "1"}, {"EUR": "-1.08"}, {"EUR": "0"}, {"EUR": "0.000"}, {"EUR": "1e3"}, {"EUR": "1,08"},
		{"EUR": ""}, {"EUR": "1.08.1"}, {"EUR": " 1.08"}, {"EUR": "NaN"}, {"EUR": "1234567890"}, {"EUR": "1.00000000001"},
		{"EURO": "1"}, {"eur": "1", "EUR": "2"},
	} {
		if _, err := ParseRates(bad, "USD"); err == nil {
			t.Errorf("rates %v accepted", bad)
		}
	}
	if _, err := ParseRates(nil, "USD"); err != nil {
		t.Errorf("no rates: %v", err)
	}
}

// Converting is exact: each currency's sum times its rate, summed as a
// fraction, rounded once to the micro-unit.
func TestConvertIsExact(t *testing.T) {
	r, _ := ParseRates(map[string]string{"EUR": "1.08", "JPY": "0.0067", "GBP": "1.2733333333"}, "USD")
	conv := func(m map[string]int64, want int64, wantOK bool) {
		t.Helper()
		used := map[string]string{}
		got, ok := r.convert(m, used)
		if ok != wantOK || (ok && int64(got) != want) {
			t.Errorf("convert(%v) = %d, %v; want %d, %v", m, got, ok, want, wantOK)
		}
	}
	conv(map[string]int64{"USD": 4_000_000, "EUR": 1_000_000}, 5_080_000, true)
	conv(map[string]int64{"EUR": 50_000}, 54_000, true)
	conv(map[string]int64{"JPY": 1_000_000_000}, 6_700_000, true) // 1000 JPY
	conv(map[string]int64{"GBP": 3}, 4, true)                     // 3.82: rounded once
	conv(map[string]int64{"GBP": -3}, -4, true)
	conv(map[string]int64{"EUR": 1, "GBP": 1}, 2, true) // 1.08 + 1.27 = 2.35, not 1 + 1
	conv(map[string]int64{"CHF": 1}, 0, false)
	conv(map[string]int64{}, 0, true)
	// Large sums stay exact: 10^17 micro-units of EUR.
	conv(map[string]int64{"EUR": 100_000_000_000_000_000}, 108_000_000_000_000_000, true)
}

// Presets are calendar days in the zone, from the injected now.
func TestPeriod(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // 01:30 in Paris, the night clocks go forward
	f := func(preset string, loc *time.Location, from, to string) {
		t.Helper()
		r, err := Period(preset, now, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.From.Format(time.RFC3339) + " " + r.To.Format(time.RFC3339); got != from+" "+to {
			t.Errorf("%s in %s: %s, want %s %s", preset, loc, got, from, to)
		}
	}
	f(PresetToday, paris, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00") // a 23-hour day
	f(PresetYesterday, paris, "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00")
	f(PresetLast7Days, paris, "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00")
	f(PresetLast30Days, paris, "2026-02-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00")
	f(PresetThisMonth, paris, "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00")
	f(PresetLastMonth, paris, "2026-02-01T00:00:00+01:00", "2026-03-01T00:00:00+01:00")
	f(PresetToday, time.UTC, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z")
	f(PresetYesterday, tokyo, "2026-03-28T00:00:00+09:00", "2026-03-29T00:00:00+09:00")
	jan := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	if r, _ := Period(PresetLastMonth, jan, time.UTC); !r.From.Equal(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("last month in January: %v", r)
	}
	if _, err := Period("forever", now, paris); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{Millis: 1_709_000_000_123, HitID: "06eaih8a03n7lc707gidna8f90"}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	if z, err := ParseCursor(""); err != nil || !z.IsZero() || z.String() != "" {
		t.Errorf("empty cursor: %+v, %v", z, err)
	}
	for _, bad := range []string{"garbage!", "bm9kb3Q", "LTEuaWQ", "MTIzLg"} { // "nodot", "-1.id", "123."
		if _, err := ParseCursor(bad); !errors.Is(err, ErrBadQuery) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
	if !c.Before(c.Millis-1, "zzz") || !c.Before(c.Millis, "06") || c.Before(c.Millis, c.HitID) || c.Before(c.Millis+1, "") {
		t.Error("Before")
	}
}

func TestCampaignQueryCheck(t *testing.T) {
	for _, q := range []CampaignQuery{
		{GroupBy: []string{"offer"}}, {GroupBy: []string{"campaign", "campaign"}}, {GroupBy: []string{""}},
		{GroupBy: []string{"campaign", "zone", "country", "day"}}, {Filters: map[string]string{"planet": "x"}},
	} {
		if err := q.Check(); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%+v: %v", q, err)
		}
	}
	if err := (CampaignQuery{GroupBy: []string{"campaign", "zone", "country"}, Filters: map[string]string{"day": ""}}).Check(); err != nil {
		t.Error(err)
	}
}

// The CSV of a campaign report: a line per row and the total, money per
// currency in its own columns, the rates used with the converted figures.
func TestCampaignTable(t *testing.T) {
	rates, _ := ParseRates(map[string]string{"EUR": "1.08"}, "USD")
	q := CampaignQuery{GroupBy: []string{DimCampaign}}
	r := Campaign(q, CampaignResult{
		Groups: []CampaignSums{{Group: []string{"c2"}, Clicks: 2, Approved: 1, Conversions: 1,
			Revenue: map[string]int64{"EUR": 1_000_000}, Cost: map[string]int64{"USD": 20_000}}},
		Total: CampaignSums{Clicks: 2, Approved: 1, Conversions: 1, Revenue: map[string]int64{"EUR": 1_000_000}, Cost: map[string]int64{"USD": 20_000}},
	}, rates)
	tb := CampaignTable(r)
	head := strings.Join(tb.Header, ",")
	if !strings.HasPrefix(head, "line,campaign,clicks,") || !strings.Contains(head, "revenue_EUR") || !strings.Contains(head, "cost_USD") {
		t.Errorf("header %s", head)
	}
	if len(tb.Rows) != 2 || tb.Rows[0][1] != "c2" || tb.Rows[1][0] != "total" {
		t.Fatalf("rows %v", tb.Rows)
	}
	line := strings.Join(tb.Rows[0], ",")
	if !strings.Contains(line, ",50.00,") || !strings.Contains(line, "USD,1.08,0.02,1.06,0.54,0.01,5300.00,EUR=1.08") {
		t.Errorf("line %s", line)
	}
}

func attributionMicros(v int64) attribution.Micros { return attribution.Micros(v) }
