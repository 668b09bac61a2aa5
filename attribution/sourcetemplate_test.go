package attribution

import (
	"errors"
	"net/url"
	"testing"
)

// The ExoClick template is ExoClick's macros under the names the click
// keeps, and its postback reads them back.
func TestSourceTemplates(t *testing.T) {
	exo, ok := LookupSourceTemplate("ExoClick")
	if !ok {
		t.Fatal("no exoclick template")
	}
	q, err := url.ParseQuery(exo.LinkQuery)
	if err != nil {
		t.Fatal(err)
	}
	for name, macro := range map[string]string{
		"external_id": "{conversions_tracking}", "zoneid": "{zone_id}", "campid": "{campaign_id}", "siteid": "{site_id}",
		"variation_id": "{variation_id}", "catid": "{category_id}", "country": "{country}", "format": "{format}", "cost": "{actual_cost}",
	} {
		if q.Get(name) != macro {
			t.Errorf("exoclick link %s=%q, want %q", name, q.Get(name), macro)
		}
	}
	// The postback sends back the conversion id the click kept.
	if got := TemplateTokens(exo.PostbackURL); len(got) != 2 || got[0] != "external_id" || got[1] != "payout" {
		t.Errorf("exoclick postback tokens %v", got)
	}
	for _, name := range SourceTemplateNames() {
		tpl, ok := LookupSourceTemplate(name)
		if !ok || tpl.Name != name || tpl.Label == "" {
			t.Errorf("template %q: %+v %v", name, tpl, ok)
		}
		if err := CheckLinkQuery(tpl.LinkQuery); err != nil {
			t.Errorf("template %q: %v", name, err)
		}
	}
	if _, ok := LookupSourceTemplate("nope"); ok {
		t.Error("an unknown template was found")
	}
}

func TestCheckLinkQuery(t *testing.T) {
	f := func(q string, ok bool) {
		t.Helper()
		err := CheckLinkQuery(q)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrBadLinkQuery)) {
			t.Errorf("CheckLinkQuery(%q) = %v, want ok=%v", q, err, ok)
		}
	}
	f("", true)
	f("external_id={clickid}&zone={zone}", true)
	f("a=1&b", true)
	f("?a=1", false)
	f("a=1#frag", false)
	f("a=1 &b=2", false)
	f("a=1&&b=2", false)
	f("=1", false)
	f("a=%zz", false)
	f("a=1\n", false)
	f(string(make([]byte, MaxLinkQueryBytes+1)), false)
}
