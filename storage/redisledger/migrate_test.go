package redisledger

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// An account as the builds before layout 2 left it (their apply.lua,
// erase.lua and webinar.lua wrote these keys), migrated in place: every
// read and every rule then finds what was there, and the hits those builds
// applied are still recognised.
func TestMigrateConvertsTheEarlierLayout(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		ctx := t.Context()
		acct := randomID("mig-")
		p := keyPrefix(acct)
		ann, ns := attribution.EmailAttendeeID("ann@example.com"), strconv.FormatInt(base.UnixNano(), 10)
		oldFS := strconv.FormatInt(base.Add(-2*time.Hour).UnixNano(), 10)
		conv := storage.ConvKey("c1", "", "")
		hour := strconv.FormatInt(base.Add(time.Hour).Unix()/3600, 10) // the ops' time
		c := l.c
		steps := []error{
			c.HSet(ctx, p+"account", "name", "Old", "cur", "USD", "max", 0).Err(),
			c.HSet(ctx, p+"webinars", "w1", "").Err(),
			c.HSet(ctx, p+"ws:"+hx("w1"), "sales", 2, "conv", 1, "reg", 1, "creg", 1, "r:USD", 15_000_000).Err(),
			c.HSet(ctx, p+"wr:"+hx("w1"), ann, ns+":ann@example.com").Err(),
			c.HSet(ctx, p+"o:"+hx("o:1"), "k", "o:1", "amt", 10_000_000, "cur", "USD", "w", `["w1"]`, "att", ann,
				"src", "pixel", "fs", ns, "ls", ns, "id", "1").Err(),
			// A fingerprint order replaced after its window: the copy as last
			// seen is ann's, the current one nobody's.
			c.HSet(ctx, p+"oa:"+hx("fp")+":"+oldFS, "k", "fp", "amt", 5_000_000, "cur", "USD", "w", `["w1"]`, "att", ann,
				"src", "pixel", "fs", oldFS, "ls", oldFS).Err(),
			c.HSet(ctx, p+"o:"+hx("fp"), "k", "fp", "amt", 1_000_000, "cur", "USD", "w", `["w2"]`, "att", "",
				"src", "pixel", "fs", ns, "ls", ns).Err(),
			c.HSet(ctx, p+"a:"+hx(ann), "id", ann, "em", "ann@example.com", "n", 2, "l:USD", 15_000_000, "acq", `["w1"]`,
				"w:w1", "", "o:"+hx("o:1")+":"+ns, "", "o:"+hx("fp")+":"+oldFS, "").Err(),
			c.HSet(ctx, p+"prof:"+hx(ann), "name", "Ann").Err(),
			c.HSet(ctx, p+"cookies", "ck1", hx(ann)+ann).Err(),
			c.Set(ctx, p+"k:"+hx("c1"), `{"c":"camp","m":{"zone_id":"42"},"cost":"0","cur":"USD","t":"`+ns+
				`","exp":"`+strconv.FormatInt(base.Add(30*24*time.Hour).UnixNano(), 10)+`","a":{"n":"","px":true}}`, time.Hour).Err(),
			c.HSet(ctx, p+"cv:"+hx(conv), "st", "pending", "raw", "p", "v", 5_000_000, "cur", "USD").Err(),
			c.Expire(ctx, p+"cv:"+hx(conv), time.Hour).Err(),
			c.HSet(ctx, p+"hb:"+hour, "hit-old", "1").Err(),
			c.HSet(ctx, p+"rb:"+hour, "hit-old", `["accepted","","10000000","`+ann+`","w1"]`).Err(),
		}
		if err := errors.Join(steps...); err != nil {
			t.Fatal(err)
		}
		op := func(o storage.Op) storage.Op {
			if o.HitID == "" {
				o.HitID = randomID("hit-")
			}
			o.Account, o.Time, o.Log = acct, base.Add(time.Hour), "L"
			return o
		}
		refresh := op(storage.Op{Kind: storage.OpConversion, OrderKey: "o:1", OrderID: "1", Webinars: []string{"w1"},
			HasAmount: true, Amount: 12_000_000, Currency: "USD", AttendeeEmail: "ann@example.com", Pos: 1})
		if _, err := l.Apply(ctx, []storage.Op{refresh}); !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("Apply before the migration: %v, want storage.ErrUnavailable (the hits wait)", err)
		}

		var migrated []string
		st, err := l.Migrate(ctx, func(a string) { migrated = append(migrated, a) })
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if !slices.Contains(migrated, acct) || st.Orders < 3 || st.Attendees < 1 || st.Conversions < 1 || st.Cookies < 1 {
			t.Fatalf("Migrate: %+v, accounts %v", st, migrated)
		}

		a, err := l.Attendee(ctx, acct, "ann@example.com")
		if err != nil || a.ID != ann || a.Orders != 2 || a.LTV["USD"] != 15_000_000 ||
			!slices.Equal(a.Webinars, []string{"w1"}) || !slices.Equal(a.Acquisition, []string{"w1"}) || len(a.OrderList) != 2 ||
			a.OrderList[0].Key != "fp" || a.OrderList[0].Amount != 5_000_000 || a.OrderList[1].Key != "o:1" {
			t.Fatalf("attendee after the migration: %+v, %v", a, err)
		}
		if prof, err := l.Profile(ctx, acct, ann); err != nil || !maps.Equal(prof, map[string]string{"name": "Ann"}) {
			t.Errorf("profile: %v, %v", prof, err)
		}
		res := applyOK(t, l,
			refresh, // the amount changed: the difference, once
			op(storage.Op{Kind: storage.OpRegistration, Webinars: []string{"w1"}, CookieID: "ck1", Pos: 2}),
			op(storage.Op{Kind: storage.OpPostback, ClickID: "c1", ConvStatus: "approved", RawStatus: "a",
				HasAmount: true, Amount: 5_000_000, Currency: "USD", Pos: 3}),
			op(storage.Op{Kind: storage.OpLead, AttendeeEmail: "ann@example.com", Profile: map[string]string{"name": "Ann"}, Pos: 4}),
			op(storage.Op{HitID: "hit-old", Kind: storage.OpConversion, OrderKey: "o:1", Currency: "USD", Pos: 5, CheckHitID: true}),
		)
		want := []string{"updated/", "duplicate/already_registered", "updated/", "duplicate/same_profile", "duplicate/replayed_hit"}
		for i, r := range res {
			if got := string(r.Status) + "/" + r.Reason; got != want[i] {
				t.Errorf("op %d after the migration: %+v, want %s", i, r, want[i])
			}
		}
		if res[0].Delta != 2_000_000 || res[1].AttendeeID != ann || res[2].Delta != 5_000_000 {
			t.Errorf("results after the migration: %+v", res)
		}
		s, err := l.WebinarStats(ctx, acct, "w1")
		if err != nil || s.Sales != 2 || s.Revenue["USD"] != 17_000_000 || s.Registrants != 1 {
			t.Errorf("stats after the migration: %+v, %v", s, err)
		}
		if ttl, err := c.PTTL(ctx, p+"cv:"+hx(conv)).Result(); err != nil || ttl <= 0 {
			t.Errorf("the conversion lost its time to live: %v, %v", ttl, err)
		}
		// Run again: nothing to do.
		migrated = nil
		if _, err := l.Migrate(ctx, func(a string) { migrated = append(migrated, a) }); err != nil || slices.Contains(migrated, acct) {
			t.Errorf("second Migrate: %v, migrated %v", err, migrated)
		}
	})
}
