package attribution

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// clickTokens are the tokens of a converted click from an ExoClick
// campaign (seed 004: the campaign URL stores external_id, zoneid, ...).
var clickTokens = map[string]string{
	"clickid":     testClickID,
	"external_id": "ODk1NjM0MTIzNDU2Nzg5MA==|1|2",
	"zone_id":     "4129858",
	"country":     "FR",
	"payout":      "12.50",
	"revenue":     "12.50",
	"currency":    "EUR",
	"txid":        "T-998",
	"goal":        "default",
	"status":      "approved",
	"space":       "a b",
	"amp":         "a&b=c",
	"unicode":     "café 日本",
	"plus":        "1+1",
	"slash":       "x/y?z#w",
	"percent":     "100%",
	"empty":       "",
	"host":        "evil.example/x?",
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestRenderTemplate(t *testing.T) {
	tests := []struct {
		name, tmpl, want string
		unknown          []string
		err              error
	}{
		{"exoclick postback",
			"http://s.magsrv.com/tag.php?goal=66a8605e6cce49fbb8056f273f8e1a2e&tag={external_id}&value={revenue}",
			"http://s.magsrv.com/tag.php?goal=66a8605e6cce49fbb8056f273f8e1a2e&tag=ODk1NjM0MTIzNDU2Nzg5MA%3D%3D%7C1%7C2&value=12.50",
			nil, nil},
		{"offer url", "https://offer.example/?s1={clickid}&zone={zone_id}",
			"https://offer.example/?s1=" + testClickID + "&zone=4129858", nil, nil},
		{"no tokens", "https://t.example/pb", "https://t.example/pb", nil, nil},
		{"every standard token",
			"https://t.example/pb?c={clickid}&p={payout}&r={revenue}&cur={currency}&tx={txid}&g={goal}&s={status}",
			"https://t.example/pb?c=" + testClickID + "&p=12.50&r=12.50&cur=EUR&tx=T-998&g=default&s=approved", nil, nil},
		{"space", "https://t.example/?v={space}", "https://t.example/?v=a+b", nil, nil},
		{"ampersand and equals", "https://t.example/?v={amp}&w=1", "https://t.example/?v=a%26b%3Dc&w=1", nil, nil},
		{"unicode", "https://t.example/?v={unicode}", "https://t.example/?v=caf%C3%A9+%E6%97%A5%E6%9C%AC", nil, nil},
		{"plus", "https://t.example/?v={plus}", "https://t.example/?v=1%2B1", nil, nil},
		{"slash question hash", "https://t.example/?v={slash}", "https://t.example/?v=x%2Fy%3Fz%23w", nil, nil},
		{"percent", "https://t.example/?v={percent}", "https://t.example/?v=100%25", nil, nil},
		{"empty value", "https://t.example/?v={empty}&w=1", "https://t.example/?v=&w=1", nil, nil},
		{"token twice", "https://t.example/?a={goal}&b={goal}", "https://t.example/?a=default&b=default", nil, nil},
		{"adjacent tokens", "https://t.example/?v={country}{zone_id}", "https://t.example/?v=FR4129858", nil, nil},
		{"token in the path", "https://t.example/c/{clickid}", "https://t.example/c/" + testClickID, nil, nil},
		{"upper-case scheme", "HTTPS://t.example/?c={clickid}", "HTTPS://t.example/?c=" + testClickID, nil, nil},

		{"unknown token", "https://t.example/?v={nope}&c={clickid}", "https://t.example/?v=&c=" + testClickID,
			[]string{"nope"}, nil},
		{"unknown tokens listed once in order", "https://t.example/?a={b}&b={a}&c={b}", "https://t.example/?a=&b=&c=",
			[]string{"b", "a"}, nil},
		{"case matters to the lookup", "https://t.example/?v={ClickID}", "https://t.example/?v=",
			[]string{"ClickID"}, nil},

		{"empty braces stay", "https://t.example/?v={}", "https://t.example/?v={}", nil, nil},
		{"braces with a space stay", "https://t.example/?v={a b}", "", nil, ErrTemplateNotURL},
		{"dotted name stays", "https://t.example/?v={checkout.email}", "https://t.example/?v={checkout.email}", nil, nil},
		{"unclosed brace stays", "https://t.example/?v={clickid", "https://t.example/?v={clickid", nil, nil},
		{"lone brace at the end", "https://t.example/?v={", "https://t.example/?v={", nil, nil},
		{"double braces", "https://t.example/?v={{goal}}", "https://t.example/?v={default}", nil, nil},
		{"brace before a token", "https://t.example/?v={{{goal}", "https://t.example/?v={{default", nil, nil},

		{"relative", "/pb?c={clickid}", "", nil, ErrTemplateNotURL},
		{"no scheme", "t.example/pb?c={clickid}", "", nil, ErrTemplateNotURL},
		{"ftp", "ftp://t.example/{clickid}", "", nil, ErrTemplateNotURL},
		{"javascript", "javascript:alert({clickid})", "", nil, ErrTemplateNotURL},
		{"no host", "https:///pb?c={clickid}", "", nil, ErrTemplateNotURL},
		{"opaque", "https:t.example", "", nil, ErrTemplateNotURL},
		{"empty template", "", "", nil, ErrTemplateNotURL},
		{"host from an unknown token", "https://{domain}/pb", "", []string{"domain"}, ErrTemplateNotURL},
		{"host token is escaped", "https://{host}/pb", "", nil, ErrTemplateNotURL},
		{"literal space", "https://t.example/?v=a b", "", nil, ErrTemplateNotURL},
		{"control character", "https://t.example/?v=a\nb", "", nil, ErrTemplateNotURL},
		{"bad port", "https://t.example:port/", "", nil, ErrTemplateNotURL},

		{"too long", "https://t.example/?v=" + strings.Repeat("x", MaxRenderedURLBytes), "", nil, ErrTemplateTooLong},
		{"too long once rendered", "https://t.example/?v=" + strings.Repeat("{unicode}", MaxRenderedURLBytes/20),
			"", nil, ErrTemplateTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unknown, err := RenderTemplate(tt.tmpl, lookup(clickTokens))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("out = %q\nwant  %q", got, tt.want)
			}
			if !reflect.DeepEqual(unknown, tt.unknown) {
				t.Errorf("unknown = %q, want %q", unknown, tt.unknown)
			}
		})
	}
}

// TestRenderTemplateRoundTrip: every value comes back intact from the
// rendered URL's query.
func TestRenderTemplateRoundTrip(t *testing.T) {
	for name, v := range clickTokens {
		t.Run(name, func(t *testing.T) {
			out, _, err := RenderTemplate("https://t.example/pb?v={"+name+"}&z=1", lookup(clickTokens))
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("v") != v || q.Get("z") != "1" || len(q) != 2 {
				t.Errorf("%q reads back as %q", v, q)
			}
		})
	}
}

func TestRenderTemplateErrorHidesValues(t *testing.T) {
	_, _, err := RenderTemplate("https://t.example:{country}/", lookup(clickTokens))
	if err == nil || strings.Contains(err.Error(), "t.example") {
		t.Errorf("error = %v, want one that does not quote the URL", err)
	}
}

func TestTemplateTokens(t *testing.T) {
	tests := []struct {
		name, tmpl string
		want       []string
	}{
		{"exoclick", "http://s.magsrv.com/tag.php?goal=66a8&tag={external_id}&value={payout}",
			[]string{"external_id", "payout"}},
		{"none", "https://t.example/", nil},
		{"repeated", "{a}{b}{a}", []string{"a", "b"}},
		{"not tokens", "{} {a b} {x.y} {", nil},
		{"double braces", "{{goal}}", []string{"goal"}},
		{"digits and underscores", "{sub_1}{2}", []string{"sub_1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TemplateTokens(tt.tmpl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TemplateTokens(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestTemplateHost(t *testing.T) {
	f := func(tmpl, wantHost string, wantErr error) {
		t.Helper()
		host, err := TemplateHost(tmpl)
		if !errors.Is(err, wantErr) || host != wantHost {
			t.Errorf("TemplateHost(%q) = %q, %v; want %q, %v", tmpl, host, err, wantHost, wantErr)
		}
	}
	f("https://offer.example/x?s1={clickid}", "offer.example", nil)
	f("https://Offer.Example:8443?z={zone_id}#{a}", "offer.example:8443", nil)
	f("https://offer.example", "offer.example", nil)
	f("https://{domain}/x", "", ErrTokenInHost)
	f("https://offer.example{zone_id}/x", "", ErrTokenInHost)
	f("https://offer.example:{port}/x", "", ErrTokenInHost)
	f("{scheme}://offer.example/x", "", ErrTokenInHost)
	f("https://{user}@offer.example/x", "", ErrTokenInHost)
	f("offer.example/{x}", "", ErrTemplateNotURL)
}

func TestRenderRedirectKeepsTheHost(t *testing.T) {
	values := map[string]string{"domain": "evil.com", "zone_id": ".evil.com", "clickid": "c1", "path": "/@evil.com"}
	tokens := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	f := func(tmpl, want string, wantErr error) {
		t.Helper()
		got, err := RenderRedirect(tmpl, tokens)
		if !errors.Is(err, wantErr) || got != want {
			t.Errorf("RenderRedirect(%q) = %q, %v; want %q, %v", tmpl, got, err, want, wantErr)
		}
	}
	f("https://offer.example/x?s1={clickid}", "https://offer.example/x?s1=c1", nil)
	f("https://offer.example/{path}", "https://offer.example/%2F%40evil.com", nil)
	f("https://{domain}/x", "", ErrTokenInHost)
	f("https://offer.example{zone_id}/x", "", ErrTokenInHost)
}
