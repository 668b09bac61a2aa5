package clickhouse

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// eraseFixture: the person (attendee "P", email hash "sha-p") converted
// click c1 with the conversion pixel; a network's later postback on c1
// names nobody; their conversion of c3 was refused; someone else
// converted c2.
func eraseFixture() []storage.Hit {
	person := func(h *storage.Hit) { h.AttendeeID, h.EmailSHA256 = "P", "sha-p" }
	nobody := func(h *storage.Hit) { h.AttendeeID, h.EmailSHA256 = "", "" }
	click := func(id string) func(*storage.Hit) {
		return func(h *storage.Hit) {
			h.Kind, h.ClickID, h.CampaignID, h.Cost = storage.KindClick, id, "camp", 2000
			h.Macros = map[string]string{"external_id": "EXT-" + id, "zone_id": "42"}
			h.Query = "external_id=EXT-" + id
		}
	}
	conv := func(id string) func(*storage.Hit) {
		return func(h *storage.Hit) {
			h.Kind, h.ClickID, h.CampaignID, h.TxID, h.Goal, h.ConvStatus = storage.KindPostback, id, "camp", "t-"+id, "default", "approved"
			h.Macros = map[string]string{"external_id": "EXT-" + id}
		}
	}
	return []storage.Hit{
		hit("k1", utc(14, 0), click("c1"), nobody),
		hit("k2", utc(14, 1), click("c2"), nobody),
		hit("k3", utc(14, 2), click("c3"), nobody),
		hit("px1", utc(14, 3), conv("c1"), person),
		hit("px2", utc(14, 4), conv("c2"), attendee("Q")),
		hit("px3", utc(14, 5), conv("c3"), person, status(storage.StatusRejected, storage.ReasonPixelConversionsDisabled)),
		hit("nw1", utc(14, 6), conv("c1"), nobody),
		hit("sale", utc(14, 7), person),
		hit("other", utc(14, 8), click("c1"), func(h *storage.Hit) { h.Account = "other" }, nobody),
	}
}

// checkEraseAttendee erases the person of eraseFixture from c, whose rows
// were stored as before, and checks the table against the Go rules:
// RowErasure.ConvertedClick finds the same clicks, Hit.StripClick gives the
// rows of the click, the person's rows are gone, the others unchanged.
func checkEraseAttendee(t *testing.T, c *Client, before []storage.Hit) {
	t.Helper()
	e := &storage.RowErasure{Account: "acme", AttendeeID: "P", EmailSHA256: "sha-p", At: utc(15, 0)}
	want := map[string]bool{}
	for i := range before {
		if id := e.ConvertedClick(&before[i]); id != "" {
			want[id] = true
		}
	}
	if !maps.Equal(want, map[string]bool{"c1": true}) {
		t.Fatalf("the fixture's converted clicks are %v: the test proves nothing", want)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.EraseAttendee(ctx, e); err != nil {
		t.Fatalf("EraseAttendee: %v", err)
	}
	if !maps.Equal(e.ClickIDs, want) {
		t.Errorf("clicks found in ClickHouse %v, want %v (RowErasure.ConvertedClick)", e.ClickIDs, want)
	}
	after := map[string]storage.Hit{}
	for _, h := range allRows(t, c) {
		after[h.Account+"/"+h.ID] = h
	}
	for _, h := range before {
		got, ok := after[h.Account+"/"+h.ID]
		switch {
		case e.Names(&h):
			if ok {
				t.Errorf("row %s of the person is still there", h.ID)
			}
		case e.OfClick(&h):
			h.StripClick()
			if !reflect.DeepEqual(got, h) {
				t.Errorf("row %s of the person's click:\n got %+v\nwant %+v (Hit.StripClick)", h.ID, got, h)
			}
		default:
			if !reflect.DeepEqual(got, h) {
				t.Errorf("row %s changed:\n got %+v\nwant %+v", h.ID, got, h)
			}
		}
	}
	if len(after) != len(before)-3 {
		t.Errorf("%d rows after the erasure, want %d", len(after), len(before)-3)
	}
}

func TestEraseAttendeeStripsTheClicks(t *testing.T) {
	c := openTest(t)
	if err := c.Insert(t.Context(), eraseFixture()); err != nil {
		t.Fatal(err)
	}
	checkEraseAttendee(t, c, allRows(t, c))
	// Sent again: nothing more to find, nothing fails.
	e := &storage.RowErasure{Account: "acme", AttendeeID: "P", EmailSHA256: "sha-p", At: utc(15, 0)}
	if err := c.EraseAttendee(t.Context(), e); err != nil || len(e.ClickIDs) != 0 {
		t.Errorf("erasing again: %v, clicks %v", err, e.ClickIDs)
	}
}

func TestClusterEraseAttendeeStripsTheClicks(t *testing.T) {
	tc := openTestCluster(t)
	shipThroughCluster(t, tc.client, eraseFixture())
	before := allRows(t, tc.client)
	slices.SortFunc(before, func(a, b storage.Hit) int { return a.Time.Compare(b.Time) })
	checkEraseAttendee(t, tc.client, before)
}
