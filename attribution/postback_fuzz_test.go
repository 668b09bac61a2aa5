package attribution

import (
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// postbackSeeds are real postbacks, then truncated, repeated, malformed
// and oversized ones.
func postbackSeeds() []string {
	full := "cid=" + testClickID + "&payout=12.50&txid=T-998&status=approved&currency=usd&goal=default&secret=s3cr3t"
	seeds := []string{
		"",
		full,
		"goal=66a8605e6cce49fbb8056f273f8e1a2e&tag=" + testClickID + "&value=0.35",
		"cid=" + testClickID + "&payout=9.99&txid=u-2&et=Upsell_1",
		"subid=" + testClickID + "&status=rebill&tid=ORD-1-m2&payout=19.00&currency=eur",
		"cnv_id=" + testClickID + "&payout=1.75&cnv_status=approve&cnv_currency=USD",
		"clickid=" + testClickID + "&sum=3.10&transactionid=5f2a9c&status=5&currency=USD&goal=1",
		"cid={clickid}&payout={payout}&status=%STATUS%&currency=[currency]",
		"cid=a&cid=b", "cid=c1&payout=-5", "cid=c1&payout=1,000", "cid=c1&payout=0.0000001",
		"cid=c1&status=APPROVED&status=approved", "cid=c1&txid=a%0Ab", "cid=c1&goal=a+b",
		"cid=c1&currency=XYZ", "cid=a%2Fb", "cid=%C3%A9", "cid=c1%00",
		"cid=" + strings.Repeat("c", 65),
		"cid=c1&txid=" + strings.Repeat("t", MaxPostbackParamBytes+1),
		"cid=c1&payout=" + strings.Repeat("9", 5000),
		"cid=c1&status=" + strings.Repeat("x", 5000),
		strings.Repeat("cid=c1&", MaxParams+1),
		strings.Repeat("x", MaxQueryBytes+1),
	}
	for i := 1; i < len(full); i += 7 {
		seeds = append(seeds, full[:i])
	}
	return seeds
}

var postbackReasons = []string{
	ReasonMissingClickID, ReasonBadClickID, ReasonBadPayout, ReasonBadCurrency, ReasonBadStatus,
	ReasonBadTxID, ReasonBadGoal, ReasonDuplicateParam, ReasonParamTooLong, ReasonInvalidEncoding,
}

func FuzzParsePostback(f *testing.F) {
	names := PresetNames()
	for _, s := range postbackSeeds() {
		for i := range names {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, pick uint8) {
		params, err := ParseQuery(raw)
		if err != nil {
			return // the server answers ParseQuery's rejection itself
		}
		p, _ := LookupPreset(names[int(pick)%len(names)])
		pb, err := ParsePostback(paramValues(params), p)
		again, errAgain := ParsePostback(paramValues(params), p)
		if pb != again || (err == nil) != (errAgain == nil) {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", pb, err, again, errAgain)
		}
		if len(pb.Secret) > MaxPostbackParamBytes || trimSpace(pb.Secret) != pb.Secret ||
			(pb.Secret != "" && IsPlaceholder(pb.Secret)) {
			t.Fatalf("secret %q", pb.Secret)
		}
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || !slices.Contains(postbackReasons, rej.Reason) {
				t.Fatalf("error %v (%T) is not a postback rejection", err, err)
			}
			if pb != (Postback{Secret: pb.Secret}) {
				t.Fatalf("rejected postback carries %+v", pb)
			}
			return
		}
		if !validPostbackClickID(pb.ClickID) {
			t.Fatalf("click id %q", pb.ClickID)
		}
		if !pb.Status.Valid() {
			t.Fatalf("status %q", pb.Status)
		}
		if len(pb.RawStatus) > maxRawStatusBytes || trimSpace(pb.RawStatus) != pb.RawStatus ||
			(pb.RawStatus == "" && (pb.Status != StatusApproved || pb.EventType != "")) {
			t.Fatalf("raw status %q -> %q/%q", pb.RawStatus, pb.Status, pb.EventType)
		}
		if pb.Currency != "" {
			if c, err := NormalizeCurrency(pb.Currency); err != nil || c != pb.Currency {
				t.Fatalf("currency %q is not normalised", pb.Currency)
			}
		}
		if pb.Payout < 0 || pb.Payout >= 1_000_000_000_000*MicrosPerUnit || (!pb.HasPayout && pb.Payout != 0) {
			t.Fatalf("payout %d (present %v)", pb.Payout, pb.HasPayout)
		}
		if pb.HasPayout {
			s := FormatAmount(pb.Payout, pb.Currency)
			if back, ok := parsePayout(s, pb.Currency); !ok || back != pb.Payout {
				t.Fatalf("payout %d prints as %q, which parses as %d, %v", pb.Payout, s, back, ok)
			}
		}
		if len(pb.TxID) > MaxPostbackParamBytes || hasControl(pb.TxID) || !utf8.ValidString(pb.TxID) {
			t.Fatalf("txid %q", pb.TxID)
		}
		if pb.Goal != "" && !ValidID(pb.Goal) {
			t.Fatalf("goal %q", pb.Goal)
		}
		if v, err := ConversionValue(Goal{Type: GoalDynamic}, pb, nil); err != nil || v != pb.Payout {
			t.Fatalf("dynamic value %d, %v for payout %d", v, err, pb.Payout)
		}
	})
}

// tokenRE is RenderTemplate's token syntax, for a reference rendering.
var tokenRE = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

func FuzzRenderTemplate(f *testing.F) {
	exo := "http://s.magsrv.com/tag.php?goal=66a8605e6cce49fbb8056f273f8e1a2e&tag={external_id}&value={payout}"
	seeds := []string{
		"", "{", "}", "{}", "{{", "{a", "{a}", "{{a}}", "{a b}", "{clickid}",
		exo,
		"https://offer.example/?s1={clickid}&zone={zone_id}&x={unknown}",
		"https://{clickid}/", "https://t.example:{payout}/", "HTTPS://T.EXAMPLE/{payout}", "ftp://x/{clickid}",
		"https://t.example/?v=a b", "https://t.example/\x00", "https://t.example/?v=%zz",
		"https://t.example/?" + strings.Repeat("{payout}", 2000),
		"https://t.example/?" + strings.Repeat("x", MaxRenderedURLBytes),
		"https://t.example/?" + strings.Repeat("{", 5000),
	}
	for i := 1; i < len(exo); i += 9 {
		seeds = append(seeds, exo[:i])
	}
	for _, s := range seeds {
		f.Add(s, "12.50")
		f.Add(s, "a&b=c d/é")
		f.Add(s, strings.Repeat("%", 300))
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		known := map[string]string{"clickid": testClickID, "payout": value, "external_id": value, "empty": ""}
		out, unknown, err := RenderTemplate(tmpl, lookup(known))

		var wantUnknown []string
		ref := tokenRE.ReplaceAllStringFunc(tmpl, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := known[name]; ok {
				return url.QueryEscape(v)
			}
			if !slices.Contains(wantUnknown, name) {
				wantUnknown = append(wantUnknown, name)
			}
			return ""
		})
		var refErr error
		if len(ref) > MaxRenderedURLBytes {
			refErr = ErrTemplateTooLong
		} else {
			refErr = checkHTTPURL(ref)
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("RenderTemplate(%q) = %q, %v; reference %q, %v", tmpl, out, err, ref, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrTemplateNotURL) && !errors.Is(err, ErrTemplateTooLong) {
				t.Fatalf("error %v", err)
			}
			if out != "" {
				t.Fatalf("failed render returned %q", out)
			}
			return
		}
		if out != ref {
			t.Fatalf("RenderTemplate(%q) = %q, reference %q", tmpl, out, ref)
		}
		if !reflect.DeepEqual(unknown, wantUnknown) {
			t.Fatalf("unknown = %q, want %q", unknown, wantUnknown)
		}
		for _, name := range unknown {
			if !slices.Contains(TemplateTokens(tmpl), name) {
				t.Fatalf("unknown %q is not among TemplateTokens", name)
			}
		}
		u, perr := url.Parse(out)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("rendered %q is not an http URL: %v", out, perr)
		}
		// A redirect never leaves the template's host, whatever the values.
		if host, herr := TemplateHost(tmpl); herr == nil {
			if r, rerr := RenderRedirect(tmpl, lookup(known)); rerr == nil && r != out {
				t.Fatalf("RenderRedirect(%q) = %q, RenderTemplate %q", tmpl, r, out)
			} else if rerr == nil && !strings.EqualFold(u.Host, host) {
				t.Fatalf("redirect %q left host %q", r, host)
			}
		}
	})
}
