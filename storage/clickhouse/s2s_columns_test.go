package clickhouse

import (
	"reflect"
	"testing"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// hitsDDLBeforeS2S is the hits table as releases before the S2S columns
// created it.
const hitsDDLBeforeS2S = `CREATE TABLE hits (
    hit_id String, ts DateTime, ts_ms UInt64, account String, kind String,
    status String, reason String, webinar_ids Array(String), tag String,
    order_id String, amount Int64, delta Int64, currency String,
    attendee_id String, email_sha256 String, click_id String,
    campaign_id String, ip String, user_agent String, referer String,
    query String, order_key String, has_amount UInt8, product_id String,
    product_name String, source String, version UInt8
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (account, ts, hit_id)`

// A table of an older release gains the S2S columns; its rows read back
// with empty S2S fields, and new rows carry them.
func TestMigrateAddsS2SColumns(t *testing.T) {
	c := openTest(t)
	ctx := t.Context()
	for _, q := range []string{"DROP TABLE hits", hitsDDLBeforeS2S,
		`INSERT INTO hits (hit_id, ts, ts_ms, account, kind, status, webinar_ids, click_id, campaign_id, version)
		 SELECT 'old', toDateTime(1710072000), 1710072000000, 'acme', 'click', 'accepted', emptyArrayString(), 'k-old', 'c1', 1`,
	} {
		if err := c.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cols, err := c.columns(ctx, "hits")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range hitColumns {
		if got := cols[want.name]; got != want.typ {
			t.Errorf("column %s is %q, want %q", want.name, got, want.typ)
		}
	}
	if err := c.migrate(ctx); err != nil { // again: nothing to do
		t.Fatal(err)
	}

	click := s2sClick("k-new", day0, map[string]string{"zone_id": "z1"}, 10_000)
	if err := c.Insert(ctx, []storage.Hit{click}); err != nil {
		t.Fatal(err)
	}
	var got []storage.Hit
	if err := c.Rows(ctx, "acme", func(h storage.Hit) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows: %+v", len(got), got)
	}
	sortByTime(got) // same time: by id
	if h := got[1]; h.ID != "old" || h.Macros != nil || h.Cost != 0 || h.SourceID != "" || h.ConvStatus != "" {
		t.Errorf("old row: %+v", h)
	}
	if h := got[0]; h.ID != click.ID || h.Macros["zone_id"] != "z1" || h.Cost != 10_000 || h.SourceID != "s1" {
		t.Errorf("new row: %+v", h)
	}
	res, err := c.CampaignSums(ctx, "acme", report.CampaignQuery{GroupBy: []string{"campaign", "zone", "source"}})
	rows := report.Campaign(report.CampaignQuery{GroupBy: []string{"campaign", "zone", "source"}}, res, report.Rates{}).Rows
	if err != nil || len(rows) != 2 || rows[0].Group["zone"] != "" || rows[0].Clicks != 1 ||
		rows[1].Group["zone"] != "z1" || rows[1].Group["source"] != "s1" || rows[1].Clicks != 1 {
		t.Errorf("report on the migrated table: %+v, %v", rows, err)
	}
}

// Rows gives back the S2S fields of clicks and postbacks, except ClickTTL
// and Valuation (not stored), with sensitive macro values redacted.
func TestRowsRoundTripS2S(t *testing.T) {
	c := openTest(t)
	in := campaignFixture()
	in[1].Macros = map[string]string{"zone_id": "z1", "email": "alice@example.com", "sub1": "bob@example.com",
		"token": "tok", "s": "", "external_id": "REDACTED"}
	if err := c.Insert(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	var got []storage.Hit
	if err := c.Rows(t.Context(), "", func(h storage.Hit) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	want := make([]storage.Hit, 0, len(in))
	for _, h := range in {
		h.Email, h.CookieID, h.ClickTTL, h.Valuation = "", "", 0, nil
		if h.Status != storage.StatusRejected {
			h.Credited = append([]string{}, h.WebinarIDs()...)
			h.Webinars = nil
		}
		if len(h.Macros) == 0 {
			h.Macros = nil
		}
		want = append(want, h)
	}
	want[1].Macros = map[string]string{"zone_id": "z1", "email": "REDACTED", "sub1": "REDACTED",
		"token": "REDACTED", "s": "", "external_id": "REDACTED"}
	sortByTime(want)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	var keys, values []string
	q := "SELECT macro_keys, macro_values FROM hits WHERE hit_id = 'hit-k1'"
	if err := c.conn.QueryRow(t.Context(), q).Scan(&keys, &values); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys, []string{"email", "external_id", "s", "sub1", "token", "zone_id"}) ||
		!reflect.DeepEqual(values, []string{"REDACTED", "REDACTED", "", "REDACTED", "REDACTED", "z1"}) {
		t.Errorf("macro columns %q %q, want sorted by key", keys, values)
	}
}

func TestMacroArrays(t *testing.T) {
	k, v := macroArrays(nil)
	if k == nil || v == nil || len(k) != 0 || len(v) != 0 {
		t.Errorf("nil macros: %q %q", k, v)
	}
	k, v = macroArrays(map[string]string{"b": "2", "a": "1", "Api_Key": "x", "a=b&c": "d"})
	if !reflect.DeepEqual(k, []string{"Api_Key", "a", "a=b&c", "b"}) || !reflect.DeepEqual(v, []string{"REDACTED", "1", "d", "2"}) {
		t.Errorf("%q %q", k, v)
	}
}
