package clickhouse

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

var (
	from = time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)
	utc  = func(h, m int, d ...int) time.Time {
		day := 10
		if len(d) > 0 {
			day = d[0]
		}
		return time.Date(2024, 3, day, h, m, 0, 0, time.UTC)
	}
)

// fixture is a named set of rows with hand-computed reports. Asia/Tokyo is
// UTC+9: 14:00 UTC on the 10th is still the 10th there, 15:30 UTC is the
// 11th.
func fixture() []storage.Hit {
	return []storage.Hit{
		hit("a1", utc(14, 0), attendee("A"), money(49_990_000, "USD")), // Tokyo 10th: sale
		hit("reg1", utc(14, 5), kind(storage.KindRegistration), attendee("C"), money(0, ""), // Tokyo 10th: registrant
			func(h *storage.Hit) { h.Tags, h.OrderID, h.OrderKey, h.HasAmount, h.Amount = nil, "", "", false, 0 }),
		hit("a2", utc(15, 30), attendee("B"), money(20_000_000, "EUR")),                                   // Tokyo 11th: sale in EUR
		hit("u1", utc(16, 0), attendee("A"), status(storage.StatusUpdated, ""), money(10_000_000, "USD")), // upsell: revenue, no sale
		hit("d1", utc(16, 10), attendee("A"), status(storage.StatusDuplicate, storage.ReasonSameOrder), money(0, "USD")),
		hit("r1", utc(16, 20), attendee("D"), status(storage.StatusRejected, storage.ReasonCurrencyMismatch),
			money(5, "GBP"), credited()), // rejected: its delta never counts; webinar_ids = what it named
		hit("m1", utc(17, 0), attendee("A"), kind(storage.KindManual), money(5_000_000, "USD")), // manual sale
		hit("pb1", utc(17, 5), kind(storage.KindPostback), money(1_000_000, "USD")),             // not a webinar sale
		hit("w2", utc(17, 10), credited("w2"), money(7_000_000, "USD")),                         // other webinar
		hit("early", utc(10, 0, 9), money(3_000_000, "USD")),                                    // before from
		hit("late", to, money(3_000_000, "USD")),                                                // at to: excluded
		hit("other", utc(14, 0), func(h *storage.Hit) { h.Account, h.EmailSHA256 = "other", "sha-a1" }),
	}
}

func fixtureSeries() []report.DayPoint {
	return []report.DayPoint{
		{Day: "2024-03-10", Registrants: 1, Sales: 1, Conversions: 1, Revenue: map[string]int64{"USD": 49_990_000}},
		{Day: "2024-03-11", Sales: 2, Conversions: 2, Revenue: map[string]int64{"EUR": 20_000_000, "USD": 15_000_000}},
	}
}

func fixtureStatus() []report.StatusCount {
	return []report.StatusCount{
		{Kind: "manual", Status: "accepted", Reason: "", Count: 1},
		{Kind: "pixel", Status: "accepted", Reason: "", Count: 3}, // a1, a2, w2
		{Kind: "pixel", Status: "duplicate", Reason: "same_order", Count: 1},
		{Kind: "pixel", Status: "rejected", Reason: "currency_mismatch", Count: 1},
		{Kind: "pixel", Status: "updated", Reason: "", Count: 1},
		{Kind: "postback", Status: "accepted", Reason: "", Count: 1},
		{Kind: "registration", Status: "accepted", Reason: "", Count: 1},
	}
}

func checkReports(t *testing.T, c *Client) {
	t.Helper()
	ctx := t.Context()
	got, err := c.WebinarSeries(ctx, "acme", "w1", report.Range{From: from, To: to}, "Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureSeries(); !reflect.DeepEqual(got, want) {
		t.Errorf("series\n got %+v\nwant %+v", got, want)
	}
	st, err := c.HitsByStatus(ctx, "acme", report.Range{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureStatus(); !reflect.DeepEqual(st, want) {
		t.Errorf("status\n got %+v\nwant %+v", st, want)
	}
}

func TestReports(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), fixture()); err != nil {
		t.Fatal(err)
	}
	checkReports(t, c)

	t.Run("utc buckets", func(t *testing.T) {
		got, err := c.WebinarSeries(t.Context(), "acme", "w1", report.Range{From: from, To: to}, "")
		if err != nil {
			t.Fatal(err)
		}
		// In UTC everything from a1 to m1 is on the 10th.
		want := []report.DayPoint{{Day: "2024-03-10", Registrants: 1, Sales: 3, Conversions: 2,
			Revenue: map[string]int64{"USD": 64_990_000, "EUR": 20_000_000}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("open range", func(t *testing.T) {
		got, err := c.HitsByStatus(t.Context(), "acme", report.Range{})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, s := range got {
			n += s.Count
		}
		if n != 11 {
			t.Errorf("%d hits in all time, want 11: %+v", n, got)
		}
	})
	t.Run("bad time zone", func(t *testing.T) {
		for _, tz := range []string{"Mars/Olympus", "UTC'); DROP TABLE hits; --", "Local"} {
			if _, err := c.WebinarSeries(t.Context(), "acme", "w1", report.Range{From: from, To: to}, tz); err == nil {
				t.Errorf("tz %q accepted", tz)
			}
		}
	})
	t.Run("quotes in values", func(t *testing.T) {
		got, err := c.WebinarSeries(t.Context(), "acme' OR 1=1 --", "w1", report.Range{From: from, To: to}, "UTC")
		if err != nil || len(got) != 0 {
			t.Errorf("got %v, %v; want no rows", got, err)
		}
	})
	t.Run("accounts", func(t *testing.T) {
		got, err := c.Accounts(t.Context())
		if err != nil || !reflect.DeepEqual(got, []string{"acme", "other"}) {
			t.Errorf("accounts %v, %v", got, err)
		}
	})
}

// A hit inserted again, and a degraded replayed_hit copy of it (before or
// after the original), count once in every report.
func TestReportsDedupe(t *testing.T) {
	tests := []struct {
		name    string
		batches func(hits []storage.Hit) [][]storage.Hit
	}{
		{"inserted twice", func(h []storage.Hit) [][]storage.Hit { return [][]storage.Hit{h, h} }},
		{"replayed copies after", func(h []storage.Hit) [][]storage.Hit { return [][]storage.Hit{h, replayed(h)} }},
		{"replayed copies first", func(h []storage.Hit) [][]storage.Hit { return [][]storage.Hit{replayed(h), h} }},
		{"same batch", func(h []storage.Hit) [][]storage.Hit { return [][]storage.Hit{append(append(replayed(h), h...), h...)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			for _, b := range tt.batches(fixture()) {
				if err := c.Insert(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			checkReports(t, c)
			var rows []storage.Hit
			if err := c.Rows(t.Context(), "acme", func(h storage.Hit) error { rows = append(rows, h); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 11 {
				t.Fatalf("%d rows, want 11", len(rows))
			}
			for _, h := range rows {
				if h.Reason == storage.ReasonReplayedHit {
					t.Errorf("replayed copy of %s won over the original", h.ID)
				}
			}
		})
	}
}

// replayed returns the degraded copies a crash replay writes.
func replayed(hits []storage.Hit) []storage.Hit {
	out := make([]storage.Hit, len(hits))
	for i, h := range hits {
		h.Status, h.Reason, h.Delta, h.Credited = storage.StatusDuplicate, storage.ReasonReplayedHit, 0, nil
		out[i] = h
	}
	return out
}

// Rows gives back what Insert got, minus the local-only fields, in order.
func TestRowsRoundTrip(t *testing.T) {
	c := openTest(t)
	in := fixture()
	in[0].Time = in[0].Time.Add(123*time.Millisecond + 456*time.Microsecond)
	if err := c.Insert(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	var got []storage.Hit
	err := c.Rows(t.Context(), "", func(h storage.Hit) error { got = append(got, h); return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Decoded rows carry webinar_ids in Credited (decided, never nil) or
	// in Webinars (rejected).
	want := make([]storage.Hit, 0, len(in))
	for _, h := range in {
		h.Email, h.CookieID = "", ""
		h.Time = h.Time.Truncate(time.Millisecond)
		if h.Status != storage.StatusRejected {
			h.Credited = append([]string{}, h.WebinarIDs()...)
			h.Webinars = nil
		}
		want = append(want, h)
	}
	sortByTime(want)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	t.Run("one account", func(t *testing.T) {
		n := 0
		err := c.Rows(t.Context(), "other", func(h storage.Hit) error { n++; return nil })
		if err != nil || n != 1 {
			t.Errorf("%d rows, %v", n, err)
		}
	})
	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := c.Rows(t.Context(), "", func(h storage.Hit) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("%d rows, %v", n, err)
		}
	})
}

func sortByTime(hits []storage.Hit) {
	slices.SortFunc(hits, func(a, b storage.Hit) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Neither the email nor the cookie id reaches ClickHouse, in any column.
func TestInsertNeverSendsLocalFields(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), fixture()); err != nil {
		t.Fatal(err)
	}
	var strs []string
	for _, col := range hitColumns {
		switch col.typ {
		case "String":
			strs = append(strs, col.name)
		case "Array(String)":
			strs = append(strs, "arrayStringConcat("+col.name+", ',')")
		}
	}
	var n uint64
	q := "SELECT count() FROM hits WHERE position(concat(" + strings.Join(strs, ", ") + "), ?) > 0"
	for _, secret := range []string{"alice@example.com", "cookie-secret"} {
		if err := c.conn.QueryRow(t.Context(), q, secret).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows contain %q", n, secret)
		}
	}
}

func TestInsertEmpty(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	h := hit("bare", day0, credited(), func(h *storage.Hit) { h.Tags, h.Webinars = nil, nil })
	if err := c.Insert(t.Context(), []storage.Hit{h}); err != nil {
		t.Fatal(err)
	}
	var tag string
	var w []string
	if err := c.conn.QueryRow(t.Context(), "SELECT tag, webinar_ids FROM hits").Scan(&tag, &w); err != nil {
		t.Fatal(err)
	}
	if tag != "" || len(w) != 0 {
		t.Errorf("tag %q, webinar_ids %v", tag, w)
	}
}

func TestDeleteAttendee(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), fixture()); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAttendee(t.Context(), "acme", ""); !errors.Is(err, ErrNoAttendee) {
		t.Fatalf("empty attendee: %v", err)
	}
	// a1 by its email hash; B (a2) and C (reg1) by attendee id. The other
	// account's row with a1's hash stays.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.DeleteAttendee(ctx, "acme", "sha-a1", "B", "C"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := c.Rows(t.Context(), "", func(h storage.Hit) error { ids = append(ids, h.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id == "a1" || id == "a2" || id == "reg1" {
			t.Errorf("%s not deleted", id)
		}
	}
	if len(ids) != 9 {
		t.Errorf("%d rows left, want 9: %v", len(ids), ids)
	}
}
