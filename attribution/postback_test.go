package attribution

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// testClickID is a click id as NewClickID writes them.
const testClickID = "0bt5p3h8e1l4k9c2qnb6sm7r0g"

// queryValues parses a raw query the way the server does and looks
// parameters up by name, like url.Values.
func queryValues(t testing.TB, raw string) func(string) []string {
	t.Helper()
	params, err := ParseQuery([]byte(raw))
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return paramValues(params)
}

func paramValues(params []Param) func(string) []string {
	return func(name string) []string {
		var out []string
		for _, p := range params {
			if p.Key == name {
				out = append(out, p.Value)
			}
		}
		return out
	}
}

func mapValues(m map[string][]string) func(string) []string {
	return func(name string) []string { return m[name] }
}

func mustPreset(t testing.TB, name string) Preset {
	t.Helper()
	p, ok := LookupPreset(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	return p
}

// TestParsePostbackPresets parses postbacks as each network sends them,
// with its macros filled in.
func TestParsePostbackPresets(t *testing.T) {
	tests := []struct {
		name, preset, query string
		want                Postback
	}{
		{"generic full", "generic",
			"cid=" + testClickID + "&payout=12.50&txid=T-998&status=approved&currency=usd&goal=default&secret=s3cr3t",
			Postback{ClickID: testClickID, TxID: "T-998", Goal: "default", Currency: "USD", RawStatus: "approved",
				Status: StatusApproved, HasPayout: true, Payout: 12_500_000, Secret: "s3cr3t"}},
		{"generic click id only", "generic", "cid=" + testClickID,
			Postback{ClickID: testClickID, Status: StatusApproved}},
		{"generic unfilled macros", "generic",
			"cid=" + testClickID + "&payout={payout}&txid={txid}&status=%STATUS%&currency=[currency]&goal={{goal}}",
			Postback{ClickID: testClickID, Status: StatusApproved}},
		{"generic chargeback", "generic", "cid=" + testClickID + "&txid=T-998&status=Refunded",
			Postback{ClickID: testClickID, TxID: "T-998", RawStatus: "Refunded", Status: StatusChargeback}},
		{"generic lead", "generic", "cid=" + testClickID + "&status=lead&payout=0",
			Postback{ClickID: testClickID, RawStatus: "lead", Status: StatusPending, EventType: EventLead, HasPayout: true}},

		{"exoclick tag.php", "exoclick",
			"goal=66a8605e6cce49fbb8056f273f8e1a2e&tag=" + testClickID + "&value=0.35",
			Postback{ClickID: testClickID, Goal: "66a8605e6cce49fbb8056f273f8e1a2e", Status: StatusApproved,
				HasPayout: true, Payout: 350_000}},
		{"exoclick no value", "exoclick", "goal=66a8605e6cce49fbb8056f273f8e1a2e&tag=" + testClickID,
			Postback{ClickID: testClickID, Goal: "66a8605e6cce49fbb8056f273f8e1a2e", Status: StatusApproved}},

		{"voluum postback", "voluum", "cid=" + testClickID + "&payout=4.20&txid=8b1f0c2e",
			Postback{ClickID: testClickID, TxID: "8b1f0c2e", Status: StatusApproved, HasPayout: true, Payout: 4_200_000}},
		{"voluum custom conversion", "voluum", "cid=" + testClickID + "&payout=9.99&txid=u-2&et=Upsell_1",
			Postback{ClickID: testClickID, TxID: "u-2", RawStatus: "Upsell_1", Status: StatusApproved,
				EventType: "Upsell_1", HasPayout: true, Payout: 9_990_000}},
		{"voluum lead event is a conversion", "voluum", "cid=" + testClickID + "&et=lead",
			Postback{ClickID: testClickID, RawStatus: "lead", Status: StatusApproved, EventType: EventLead}},
		{"voluum sale event", "voluum", "cid=" + testClickID + "&et=sale",
			Postback{ClickID: testClickID, RawStatus: "sale", Status: StatusApproved, EventType: EventSale}},
		{"voluum refund is a status", "voluum", "cid=" + testClickID + "&et=refund",
			Postback{ClickID: testClickID, RawStatus: "refund", Status: StatusChargeback}},

		{"keitaro sale", "keitaro", "subid=" + testClickID + "&status=sale&payout=25&tid=ORD-1&currency=eur",
			Postback{ClickID: testClickID, TxID: "ORD-1", Currency: "EUR", RawStatus: "sale", Status: StatusApproved,
				EventType: EventSale, HasPayout: true, Payout: 25_000_000}},
		{"keitaro lead", "keitaro", "subid=" + testClickID + "&status=lead&payout=25",
			Postback{ClickID: testClickID, RawStatus: "lead", Status: StatusPending, EventType: EventLead,
				HasPayout: true, Payout: 25_000_000}},
		{"keitaro rejected", "keitaro", "subid=" + testClickID + "&status=rejected",
			Postback{ClickID: testClickID, RawStatus: "rejected", Status: StatusDeclined}},
		{"keitaro rebill", "keitaro", "subid=" + testClickID + "&status=rebill&tid=ORD-1-m2&payout=19.00",
			Postback{ClickID: testClickID, TxID: "ORD-1-m2", RawStatus: "rebill", Status: StatusApproved,
				EventType: EventRebill, HasPayout: true, Payout: 19_000_000}},
		{"keitaro trash", "keitaro", "subid=" + testClickID + "&status=trash",
			Postback{ClickID: testClickID, RawStatus: "trash", Status: StatusDeclined}},

		{"binom click.php", "binom",
			"cnv_id=" + testClickID + "&payout=1.75&cnv_status=approve&cnv_currency=USD",
			Postback{ClickID: testClickID, Currency: "USD", RawStatus: "approve", Status: StatusApproved,
				HasPayout: true, Payout: 1_750_000}},
		{"binom hold", "binom", "cnv_id=" + testClickID + "&payout=1.75&cnv_status=Hold",
			Postback{ClickID: testClickID, RawStatus: "Hold", Status: StatusPending, HasPayout: true, Payout: 1_750_000}},
		{"binom free-text status", "binom", "cnv_id=" + testClickID + "&cnv_status=signup",
			Postback{ClickID: testClickID, RawStatus: "signup", Status: StatusApproved, EventType: "signup"}},

		{"affise approved", "affise",
			"clickid=" + testClickID + "&sum=3.10&transactionid=5f2a9c&status=1&currency=USD&goal=1",
			Postback{ClickID: testClickID, TxID: "5f2a9c", Goal: "1", Currency: "USD", RawStatus: "1",
				Status: StatusApproved, HasPayout: true, Payout: 3_100_000}},
		{"affise pending", "affise", "clickid=" + testClickID + "&sum=3.10&transactionid=5f2a9c&status=2",
			Postback{ClickID: testClickID, TxID: "5f2a9c", RawStatus: "2", Status: StatusPending,
				HasPayout: true, Payout: 3_100_000}},
		{"affise declined", "affise", "clickid=" + testClickID + "&transactionid=5f2a9c&status=3",
			Postback{ClickID: testClickID, TxID: "5f2a9c", RawStatus: "3", Status: StatusDeclined}},
		{"affise hold", "affise", "clickid=" + testClickID + "&transactionid=5f2a9c&status=5",
			Postback{ClickID: testClickID, TxID: "5f2a9c", RawStatus: "5", Status: StatusPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePostback(queryValues(t, tt.query), mustPreset(t, tt.preset))
			if err != nil {
				t.Fatalf("ParsePostback: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParsePostbackReasons reaches every reason a postback can get.
func TestParsePostbackReasons(t *testing.T) {
	tests := []struct {
		name, preset, query string
		reason, param       string
	}{
		{"no click id", "generic", "payout=1", ReasonMissingClickID, "cid"},
		{"empty click id", "generic", "cid=&payout=1", ReasonMissingClickID, "cid"},
		{"blank click id", "generic", "cid=+++", ReasonMissingClickID, "cid"},
		{"braces placeholder", "generic", "cid={clickid}", ReasonMissingClickID, "cid"},
		{"double braces placeholder", "generic", "cid={{cid}}", ReasonMissingClickID, "cid"},
		{"percent placeholder", "generic", "cid=%CID%", ReasonMissingClickID, "cid"},
		{"bracket placeholder", "generic", "cid=[cid]", ReasonMissingClickID, "cid"},
		{"click id under another name", "exoclick", "cid=" + testClickID, ReasonMissingClickID, "tag"},
		{"placeholder then nothing", "keitaro", "subid={subid}&subid=", ReasonMissingClickID, "subid"},

		{"click id with a space", "generic", "cid=a+b", ReasonBadClickID, "cid"},
		{"click id with a slash", "generic", "cid=a%2Fb", ReasonBadClickID, "cid"},
		{"click id with a colon", "generic", "cid=a:b", ReasonBadClickID, "cid"},
		{"click id with braces inside", "generic", "cid=x{y}", ReasonBadClickID, "cid"},
		{"unicode click id", "generic", "cid=%C3%A9t%C3%A9", ReasonBadClickID, "cid"},
		{"65-char click id", "generic", "cid=" + strings.Repeat("a", 65), ReasonBadClickID, "cid"},

		{"negative payout", "generic", "cid=c1&payout=-5", ReasonBadPayout, "payout"},
		{"exponent payout", "generic", "cid=c1&payout=1e3", ReasonBadPayout, "payout"},
		{"payout with a symbol", "generic", "cid=c1&payout=%245", ReasonBadPayout, "payout"},
		{"thousands-like payout", "generic", "cid=c1&payout=1,000", ReasonBadPayout, "payout"},
		{"seven decimals", "generic", "cid=c1&payout=0.0000001", ReasonBadPayout, "payout"},
		{"thirteen integer digits", "generic", "cid=c1&payout=1234567890123", ReasonBadPayout, "payout"},
		{"payout text", "affise", "clickid=c1&sum=free", ReasonBadPayout, "sum"},
		{"exoclick value", "exoclick", "tag=c1&value=1..2", ReasonBadPayout, "value"},

		{"unknown currency", "generic", "cid=c1&payout=1&currency=XYZ", ReasonBadCurrency, "currency"},
		{"currency symbol", "generic", "cid=c1&currency=%24", ReasonBadCurrency, "currency"},
		{"binom currency", "binom", "cnv_id=c1&cnv_currency=dollars", ReasonBadCurrency, "cnv_currency"},

		{"unknown status", "generic", "cid=c1&status=maybe", ReasonBadStatus, "status"},
		{"affise 4", "affise", "clickid=c1&status=4", ReasonBadStatus, "status"},
		{"keitaro custom status", "keitaro", "subid=c1&status=billed", ReasonBadStatus, "status"},
		{"custom event not an id", "voluum", "cid=c1&et=two+words", ReasonBadStatus, "et"},
		{"65-byte status", "binom", "cnv_id=c1&cnv_status=" + strings.Repeat("x", 65), ReasonBadStatus, "cnv_status"},

		{"two click ids", "generic", "cid=a&cid=b", ReasonDuplicateParam, "cid"},
		{"two payouts", "generic", "cid=c1&payout=1&payout=2", ReasonDuplicateParam, "payout"},
		{"two statuses", "generic", "cid=c1&status=approved&status=declined", ReasonDuplicateParam, "status"},
		{"two secrets", "generic", "cid=c1&secret=a&secret=b", ReasonDuplicateParam, "secret"},
		{"two txids differing by case", "generic", "cid=c1&txid=a&txid=A", ReasonDuplicateParam, "txid"},

		{"long txid", "generic", "cid=c1&txid=" + strings.Repeat("t", MaxPostbackParamBytes+1), ReasonParamTooLong, "txid"},
		{"long click id", "generic", "cid=" + strings.Repeat("c", MaxPostbackParamBytes+1), ReasonParamTooLong, "cid"},
		{"long placeholder", "generic", "cid={" + strings.Repeat("c", MaxPostbackParamBytes) + "}", ReasonParamTooLong, "cid"},

		{"txid with a newline", "generic", "cid=c1&txid=a%0Ab", ReasonBadTxID, "txid"},
		{"goal with a space", "generic", "cid=c1&goal=first+deposit", ReasonBadGoal, "goal"},
		{"goal too long", "generic", "cid=c1&goal=" + strings.Repeat("g", 65), ReasonBadGoal, "goal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb, err := ParsePostback(queryValues(t, tt.query), mustPreset(t, tt.preset))
			checkRejection(t, err, tt.reason, tt.param)
			if (pb != Postback{Secret: pb.Secret}) {
				t.Errorf("rejected postback carries %+v", pb)
			}
		})
	}
}

// TestParsePostbackValues covers values that do not come from a query
// string (form and JSON bodies).
func TestParsePostbackValues(t *testing.T) {
	generic := mustPreset(t, "generic")
	tests := []struct {
		name          string
		values        map[string][]string
		want          Postback
		reason, param string
	}{
		{"repeated same value", map[string][]string{"cid": {"c1", "c1"}, "payout": {"1.5", " 1.5 "}},
			Postback{ClickID: "c1", Status: StatusApproved, HasPayout: true, Payout: 1_500_000}, "", ""},
		{"currency repeated in another case", map[string][]string{"cid": {"c1"}, "currency": {"usd", "USD"}},
			Postback{ClickID: "c1", Currency: "USD", Status: StatusApproved}, "", ""},
		{"status repeated in another case", map[string][]string{"cid": {"c1"}, "status": {"Approved", "APPROVED"}},
			Postback{ClickID: "c1", RawStatus: "Approved", Status: StatusApproved}, "", ""},
		{"placeholder beside a value", map[string][]string{"cid": {"{cid}", "c1", ""}},
			Postback{ClickID: "c1", Status: StatusApproved}, "", ""},
		{"json number payout", map[string][]string{"cid": {"c1"}, "payout": {"10"}},
			Postback{ClickID: "c1", Status: StatusApproved, HasPayout: true, Payout: 10_000_000}, "", ""},
		{"sub-cent payout", map[string][]string{"cid": {"c1"}, "payout": {"0.0035"}, "currency": {"USD"}},
			Postback{ClickID: "c1", Currency: "USD", Status: StatusApproved, HasPayout: true, Payout: 3_500}, "", ""},
		{"fractional yen payout", map[string][]string{"cid": {"c1"}, "payout": {"10.5"}, "currency": {"JPY"}},
			Postback{ClickID: "c1", Currency: "JPY", Status: StatusApproved, HasPayout: true, Payout: 10_500_000}, "", ""},
		{"comma payout", map[string][]string{"cid": {"c1"}, "payout": {"49,99"}},
			Postback{ClickID: "c1", Status: StatusApproved, HasPayout: true, Payout: 49_990_000}, "", ""},
		{"comma thousands in dinar", map[string][]string{"cid": {"c1"}, "payout": {"1,000"}, "currency": {"BHD"}},
			Postback{ClickID: "c1", Currency: "BHD", Status: StatusApproved, HasPayout: true, Payout: 1_000_000}, "", ""},
		{"status trimmed", map[string][]string{"cid": {"c1"}, "status": {" Declined\t"}},
			Postback{ClickID: "c1", RawStatus: "Declined", Status: StatusDeclined}, "", ""},
		{"64-byte click id", map[string][]string{"cid": {strings.Repeat("z", 64)}},
			Postback{ClickID: strings.Repeat("z", 64), Status: StatusApproved}, "", ""},
		{"unicode txid", map[string][]string{"cid": {"c1"}, "txid": {"commande-é/42"}},
			Postback{ClickID: "c1", TxID: "commande-é/42", Status: StatusApproved}, "", ""},

		{"NUL in a value", map[string][]string{"cid": {"c1"}, "txid": {"a\x00b"}}, Postback{}, ReasonInvalidEncoding, "txid"},
		{"invalid UTF-8", map[string][]string{"cid": {"c1\xff"}}, Postback{}, ReasonInvalidEncoding, "cid"},
		{"long value trimmed first", map[string][]string{"cid": {"c1" + strings.Repeat(" ", 300)}},
			Postback{ClickID: "c1", Status: StatusApproved}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePostback(mapValues(tt.values), generic)
			checkRejection(t, err, tt.reason, tt.param)
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParsePostbackSecretOnError: the caller must be able to answer 403
// before it reveals any other reason.
func TestParsePostbackSecretOnError(t *testing.T) {
	tests := []struct {
		name, query, secret, reason string
	}{
		{"missing click id", "secret=s3cr3t&payout=1", "s3cr3t", ReasonMissingClickID},
		{"bad payout", "cid=c1&payout=-1&secret=s3cr3t", "s3cr3t", ReasonBadPayout},
		{"placeholder secret", "cid=c1&payout=-1&secret={secret}", "", ReasonBadPayout},
		{"no secret", "cid=c1&status=nope", "", ReasonBadStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePostback(queryValues(t, tt.query), mustPreset(t, "generic"))
			checkRejection(t, err, tt.reason, rejectionParam(err))
			if got != (Postback{Secret: tt.secret}) {
				t.Errorf("got %+v, want only secret %q", got, tt.secret)
			}
		})
	}
}

func rejectionParam(err error) string {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rej.Param
	}
	return ""
}

// TestParsePostbackOwnsItsStrings: values may point into a request buffer
// the server reuses (Fiber's zero-copy strings).
func TestParsePostbackOwnsItsStrings(t *testing.T) {
	buf := []byte(testClickID + "T-998" + "default" + "approved" + "s3cr3t")
	view := func(lo, hi int) string { return unsafe.String(&buf[lo], hi-lo) }
	n1 := len(testClickID)
	m := map[string][]string{
		"cid":    {view(0, n1)},
		"txid":   {view(n1, n1+5)},
		"goal":   {view(n1+5, n1+12)},
		"status": {view(n1+12, n1+20)},
		"secret": {view(n1+20, n1+26)},
	}
	got, err := ParsePostback(mapValues(m), mustPreset(t, "generic"))
	if err != nil {
		t.Fatal(err)
	}
	want := Postback{ClickID: testClickID, TxID: "T-998", Goal: "default", RawStatus: "approved",
		Status: StatusApproved, Secret: "s3cr3t"}
	for i := range buf {
		buf[i] = 'X'
	}
	if got != want {
		t.Fatalf("after reusing the buffer:\n got %+v\nwant %+v", got, want)
	}
}

func TestParsePostbackAllocations(t *testing.T) {
	values := queryValues(t, "cid="+testClickID+"&payout=12.50&txid=T-998&status=approved&currency=usd&goal=default")
	m := map[string][]string{}
	for _, name := range []string{"cid", "payout", "txid", "status", "currency", "goal", "secret"} {
		m[name] = values(name)
	}
	p := mustPreset(t, "generic")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParsePostback(mapValues(m), p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("ParsePostback costs %v allocations, want at most 1", allocs)
	}
}

func TestPresets(t *testing.T) {
	names := PresetNames()
	if !slices.IsSorted(names) {
		t.Errorf("PresetNames() = %q is not sorted", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := mustPreset(t, name)
			if p.Name != name {
				t.Errorf("Name = %q", p.Name)
			}
			n := p.Params
			for field, v := range map[string]string{"click_id": n.ClickID, "payout": n.Payout, "txid": n.TxID,
				"status": n.Status, "currency": n.Currency, "goal": n.Goal, "secret": n.Secret} {
				if v == "" {
					t.Errorf("no %s parameter", field)
				}
			}
			for raw, s := range p.Statuses {
				if !s.Valid() || raw != strings.ToLower(raw) || strings.TrimSpace(raw) != raw {
					t.Errorf("status %q -> %q", raw, s)
				}
			}
			for raw, e := range p.Events {
				if _, ok := p.Statuses[raw]; !ok || e == "" {
					t.Errorf("event %q -> %q has no status", raw, e)
				}
			}
			// The shared words mean the same everywhere, but for Voluum's
			// lead, which is a conversion event there.
			for _, w := range commonStatuses {
				if got := p.Statuses[w.raw]; got != w.status && !(name == "voluum" && w.raw == EventLead) {
					t.Errorf("%q -> %q, want %q", w.raw, got, w.status)
				}
			}
			// Each lookup returns maps of its own.
			p.Statuses["approved"] = StatusDeclined
			p.Events["x"] = "y"
			again := mustPreset(t, name)
			if again.Statuses["approved"] != StatusApproved || again.Events["x"] != "" {
				t.Errorf("LookupPreset shares its maps")
			}
		})
	}
	if _, ok := LookupPreset("EXOCLICK"); !ok {
		t.Errorf("LookupPreset is case-sensitive")
	}
	if _, ok := LookupPreset("nope"); ok {
		t.Errorf("LookupPreset(nope) found a preset")
	}
}

func TestWithOverrides(t *testing.T) {
	p := mustPreset(t, "keitaro").WithOverrides(ParamNames{ClickID: "sub1", Secret: "key"})
	want := ParamNames{ClickID: "sub1", Payout: "payout", TxID: "tid", Status: "status",
		Currency: "currency", Goal: "goal", Secret: "key"}
	if p.Params != want {
		t.Errorf("Params = %+v, want %+v", p.Params, want)
	}
	if p.Name != "keitaro" || !maps.Equal(p.Statuses, mustPreset(t, "keitaro").Statuses) {
		t.Errorf("WithOverrides changed more than the names")
	}
	if got := mustPreset(t, "generic").WithOverrides(ParamNames{}); got.Params != genericParams {
		t.Errorf("empty overrides changed %+v", got.Params)
	}
	pb, err := ParsePostback(queryValues(t, "sub1="+testClickID+"&key=k&status=lead"), p)
	if err != nil || pb.ClickID != testClickID || pb.Secret != "k" || pb.Status != StatusPending {
		t.Errorf("ParsePostback with overrides = %+v, %v", pb, err)
	}
	// An empty name is never read.
	p.Params.Status = ""
	if pb, err := ParsePostback(mapValues(map[string][]string{"sub1": {"c1"}, "": {"declined"}}), p); err != nil ||
		pb.Status != StatusApproved {
		t.Errorf("empty name read: %+v, %v", pb, err)
	}
}

func TestConversionValue(t *testing.T) {
	fixed := Micros(5_000_000)
	negative := Micros(-1)
	withPayout := Postback{HasPayout: true, Payout: 12_340_000}
	tests := []struct {
		name  string
		goal  Goal
		pb    Postback
		offer *Micros
		want  Micros
		err   error
	}{
		{"none", Goal{Type: GoalNone, Value: 9}, withPayout, nil, 0, nil},
		{"fixed", Goal{Type: GoalFixed, Value: 2_000_000}, withPayout, nil, 2_000_000, nil},
		{"fixed zero", Goal{Type: GoalFixed}, withPayout, nil, 0, nil},
		{"dynamic", Goal{Type: GoalDynamic}, withPayout, nil, 12_340_000, nil},
		{"dynamic without payout", Goal{Type: GoalDynamic}, Postback{}, nil, 0, nil},
		{"dynamic zero payout", Goal{Type: GoalDynamic}, Postback{HasPayout: true}, nil, 0, nil},
		{"unconfigured goal is dynamic", Goal{}, withPayout, nil, 12_340_000, nil},
		{"offer payout beats dynamic", Goal{Type: GoalDynamic}, withPayout, &fixed, 5_000_000, nil},
		{"offer payout beats fixed", Goal{Type: GoalFixed, Value: 1}, withPayout, &fixed, 5_000_000, nil},
		{"offer payout beats none", Goal{Type: GoalNone}, withPayout, &fixed, 5_000_000, nil},
		{"offer payout beats a bad type", Goal{Type: "bogus"}, withPayout, &fixed, 5_000_000, nil},
		{"unknown type", Goal{Type: "bogus"}, withPayout, nil, 0, ErrUnknownGoalType},
		{"negative fixed", Goal{Type: GoalFixed, Value: -1}, withPayout, nil, 0, ErrNegativeValue},
		{"negative offer payout", Goal{Type: GoalFixed}, withPayout, &negative, 0, ErrNegativeValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConversionValue(tt.goal, tt.pb, tt.offer)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("ConversionValue = %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseGoalType(t *testing.T) {
	tests := []struct {
		in   string
		want GoalType
		ok   bool
	}{
		{"none", GoalNone, true}, {"fixed", GoalFixed, true}, {"dynamic", GoalDynamic, true},
		{"", GoalDynamic, true}, {"Fixed", "", false}, {"auto", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got, ok := ParseGoalType(tt.in); got != tt.want || ok != tt.ok {
				t.Errorf("ParseGoalType(%q) = %q, %v", tt.in, got, ok)
			}
		})
	}
}

func TestTransition(t *testing.T) {
	const (
		P, A, D, C = StatusPending, StatusApproved, StatusDeclined, StatusChargeback
	)
	allowed := map[[2]ConvStatus]bool{
		{"", P}: true, {"", A}: true, {"", D}: true, {"", C}: true,
		{P, P}: true, {P, A}: true, {P, D}: true,
		{A, A}: true, {A, C}: true, {A, D}: true,
		{D, D}: true, {D, A}: true,
		{C, C}: true,
	}
	all := []ConvStatus{"", P, A, D, C, "bogus"}
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]ConvStatus{from, to}]
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				if got := Transition(from, to); got != want {
					t.Errorf("Transition(%q, %q) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
}

func TestCountsRevenue(t *testing.T) {
	for s, want := range map[ConvStatus]bool{
		StatusApproved: true, StatusPending: false, StatusDeclined: false, StatusChargeback: false, "": false,
	} {
		if got := CountsRevenue(s); got != want {
			t.Errorf("CountsRevenue(%q) = %v", s, got)
		}
	}
}

// TestPostbackReasonsAreStable pins the wire names (SPEC §1.4 error=...).
func TestPostbackReasonsAreStable(t *testing.T) {
	got := []string{ReasonMissingClickID, ReasonBadClickID, ReasonBadPayout, ReasonBadCurrency,
		ReasonBadStatus, ReasonBadTxID, ReasonBadGoal}
	want := []string{"missing_click_id", "bad_click_id", "bad_payout", "bad_currency",
		"bad_status", "bad_txid", "bad_goal"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons = %q", got)
	}
}

func BenchmarkParsePostback(b *testing.B) {
	values := queryValues(b, "cid="+testClickID+"&payout=12.50&txid=T-998&status=approved&currency=usd&goal=default")
	p := mustPreset(b, "generic")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePostback(values, p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseRateKeepsSubCentRates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Micros
		ok   bool
	}{
		{"0.002", 2000, true}, {"0,0035", 3500, true}, {"12", 12_000_000, true},
		{"0.0000001", 0, false}, {"-1", 0, false}, {"1e3", 0, false},
	} {
		got, err := ParseRate(tc.in, "USD")
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPostbackQuery(t *testing.T) {
	f := func(preset string, o ParamNames, withSecret bool, want string) {
		t.Helper()
		p, ok := LookupPreset(preset)
		if !ok {
			t.Fatalf("no preset %q", preset)
		}
		if got := p.WithOverrides(o).PostbackQuery(withSecret); got != want {
			t.Errorf("%s: got  %s\nwant %s", preset, got, want)
		}
	}
	f("generic", ParamNames{}, true, "cid={sub1}&payout={payout}&txid={transaction_id}&status={status}&secret=YOUR_SECRET")
	f("exoclick", ParamNames{}, false, "tag={sub1}&value={payout}&txid={transaction_id}&status={status}")
	f("voluum", ParamNames{}, false, "cid={externalid}&payout={payout}")
	f("keitaro", ParamNames{}, false, "subid={external_id}&payout={revenue}&tid={tid}&status={status}")
	f("binom", ParamNames{}, false, "cnv_id={externalid}&payout={payout}&cnv_status={cnv_status}")
	f("affise", ParamNames{Secret: "auth"}, true, "clickid={sub1}&sum={sum}&transactionid={transactionid}&status={status}&currency={currency}&goal={goal}&auth=YOUR_SECRET")
}
