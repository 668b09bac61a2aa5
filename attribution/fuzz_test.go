package attribution

import (
	"bytes"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// querySeeds are normal, truncated and oversized queries shared by the
// query fuzz targets.
func querySeeds() []string {
	return []string{
		"",
		realisticPixel,
		"webinarId=4429&email=john+tag@gmail.com&amount=49.99&currency=USD&orderId=A-1",
		"email={{email}}&amount=%AMOUNT%&orderId=[order_id]",
		"a=1&&b=2&",
		"%", "%C", "%C3", "a=%", "a=%C", "a=%C3", "amount=49.", "email=a%40", "email=a%4",
		"amount=1&amount=2", "email=a%00@b.co", "=", "&", "==&&==",
		strings.Repeat("a=1&", 5000),
		strings.Repeat("x", 5000),
		strings.Repeat("%41", 5000),
		"v=" + strings.Repeat("y", MaxParamBytes+1),
		strings.Repeat("webinarId=w&", MaxParams),
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range querySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// unescape agrees with net/url on every segment.
		for _, seg := range bytes.Split(raw, []byte{'&'}) {
			got, ok := unescape(nil, seg)
			want, err := url.QueryUnescape(string(seg))
			if ok != (err == nil) || (ok && string(got) != want) {
				t.Fatalf("unescape(%q) = %q, %v; net/url: %q, %v", seg, got, ok, want, err)
			}
		}
		buf := bytes.Clone(raw)
		params, err := ParseQuery(buf)
		if err != nil {
			if _, ok := err.(*Rejection); !ok {
				t.Fatalf("error %v is not a *Rejection", err)
			}
			return
		}
		if len(params) > MaxParams {
			t.Fatalf("%d params", len(params))
		}
		for _, p := range params {
			for _, s := range []string{p.Key, p.Value} {
				if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > MaxParamBytes {
					t.Fatalf("bad decoded text %q", s)
				}
			}
		}
		want := slicesClone(params)
		for i := range buf {
			buf[i] = '&'
		}
		if !slices.Equal(params, want) {
			t.Fatalf("results alias the input buffer")
		}
	})
}

func slicesClone(p []Param) []Param {
	out := make([]Param, len(p))
	for i, x := range p {
		out[i] = Param{strings.Clone(x.Key), strings.Clone(x.Value)}
	}
	return out
}

func FuzzParsePixel(f *testing.F) {
	for _, s := range querySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		buf := bytes.Clone(raw)
		hit, err := ParsePixel(buf)
		reg, regErr := ParseRegistration(raw)
		if err != nil {
			if _, ok := err.(*Rejection); !ok {
				t.Fatalf("error %v is not a *Rejection", err)
			}
			return
		}
		checkIDs(t, "webinar", hit.Webinars)
		checkIDs(t, "tag", hit.Tags)
		if hit.Email != "" {
			if e, err := NormalizeEmail(hit.Email); err != nil || e != hit.Email {
				t.Fatalf("email %q is not normalised: %q, %v", hit.Email, e, err)
			}
		}
		if hit.Currency != "" {
			if c, err := NormalizeCurrency(hit.Currency); err != nil || c != hit.Currency {
				t.Fatalf("currency %q is not normalised", hit.Currency)
			}
		}
		if hit.Amount != "" && (IsPlaceholder(hit.Amount) || trimSpace(hit.Amount) != hit.Amount) {
			t.Fatalf("amount %q is a placeholder or untrimmed", hit.Amount)
		}
		if len(hit.OrderID) > maxOrderIDBytes || hasControl(hit.OrderID) {
			t.Fatalf("order id %q", hit.OrderID)
		}
		for _, p := range []string{hit.ProductID, hit.ProductName} {
			if len(p) > maxProductBytes || hasControl(p) {
				t.Fatalf("product %q", p)
			}
		}
		if _, err := ParseQuery(raw); err != nil {
			t.Fatalf("pixel accepted a query ParseQuery rejects: %v", err)
		}
		if hit.Amount != "" {
			_, _ = ParseAmount(hit.Amount, "USD") // must not panic
		}
		// A registration checks a subset of what a conversion checks.
		if regErr != nil {
			t.Fatalf("pixel accepted but registration rejected: %v", regErr)
		}
		if !reflect.DeepEqual(reg, RegistrationHit{hit.Webinars, hit.Tags, hit.Email}) {
			t.Fatalf("registration %+v differs from pixel %+v", reg, hit)
		}
		want := hit
		want.Webinars, want.Tags = cloneStrings(hit.Webinars), cloneStrings(hit.Tags)
		for i := range buf {
			buf[i] = 'Z'
		}
		if !reflect.DeepEqual(hit, want) {
			t.Fatalf("results alias the input buffer")
		}
	})
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.Clone(x)
	}
	return out
}

func checkIDs(t *testing.T, kind string, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		if !ValidID(id) || seen[id] {
			t.Fatalf("%s %q invalid or repeated in %q", kind, id, ids)
		}
		seen[id] = true
	}
}

func FuzzParseAmount(f *testing.F) {
	// The fuzzer picks a currency through an index.
	fuzzCurrencies := [...]string{"USD", "JPY", "BHD", "CLF", "EUR", "KWD", "xyz"}
	for _, s := range []string{"49.99", "49,99", "49.990", "19.999", "10.5", "1e3", "-5", "+5", "NaN", " 5",
		"", ".5", "5.", "amount=49.", "49.", ".", "1,000", "1,234.56", "999999999999.99", "1234567890123",
		"0.000001", strings.Repeat("9", 5000), "1." + strings.Repeat("0", 5000)} {
		for i := range fuzzCurrencies {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		cur := fuzzCurrencies[int(pick)%len(fuzzCurrencies)]
		m, err := ParseAmount(s, cur)
		if err != nil {
			if _, ok := err.(*Rejection); !ok {
				t.Fatalf("error %v is not a *Rejection", err)
			}
			return
		}
		if m < 0 || m >= 1_000_000_000_000*MicrosPerUnit {
			t.Fatalf("ParseAmount(%q) = %d out of range", s, m)
		}
		out := FormatAmount(m, cur)
		back, err := ParseAmount(out, cur)
		if err != nil || back != m {
			t.Fatalf("ParseAmount(%q, %s) = %d; FormatAmount = %q parses as %d, %v", s, cur, m, out, back, err)
		}
		if _, frac, ok := strings.Cut(out, "."); ok && len(frac) != CurrencyExponent(cur) {
			t.Fatalf("FormatAmount(%d, %s) = %q: wrong number of decimals", m, cur, out)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"john+tag@gmail.com", "john tag@gmail.com", "John@Example.COM", "jose\u0301@x.com",
		"jo\u200bhn@x.com", "john\uff20gmail.com", "\u0130@x.com", "a@b", "@", "a%40", "email=a%40", "a@b.c\x00",
		"\xff@x.com", "ǅ@x.com", "ß@x.com", "ﬃ@x.com", "Ω@x.com", strings.Repeat("a", 5000) + "@x.com",
		strings.Repeat("é", 300) + "@x.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := NormalizeEmail(s)
		if err != nil {
			if _, ok := err.(*Rejection); !ok {
				t.Fatalf("error %v is not a *Rejection", err)
			}
			if e != "" {
				t.Fatalf("rejected %q but returned %q", s, e)
			}
			return
		}
		if !utf8.ValidString(e) || !norm.NFC.IsNormalString(e) {
			t.Fatalf("NormalizeEmail(%q) = %q is not NFC UTF-8", s, e)
		}
		if strings.Count(e, "@") != 1 || len(e) > maxEmailBytes || strings.ContainsAny(e, " \t") {
			t.Fatalf("NormalizeEmail(%q) = %q is malformed", s, e)
		}
		for _, r := range e {
			if deceptiveRune(r) {
				t.Fatalf("NormalizeEmail(%q) = %q holds %U", s, e, r)
			}
		}
		if again, err := NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, e, again, err)
		}
	})
}

func FuzzRedactQuery(f *testing.F) {
	for _, s := range querySeeds() {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 64)
	}
	f.Add([]byte("email=a%40b.co&token=t&x=1"), 10)
	f.Fuzz(func(t *testing.T, raw []byte, max int) {
		out := RedactQuery(raw, max)
		if max > 0 && len(out) > max {
			t.Fatalf("RedactQuery(%q, %d) is %d bytes", raw, max, len(out))
		}
		for i := range len(out) {
			if !printable(out[i]) {
				t.Fatalf("RedactQuery(%q) = %q holds byte %#x", raw, out, out[i])
			}
		}
		if out == "" {
			return
		}
		for _, seg := range strings.Split(out, "&") {
			key, value, ok := strings.Cut(seg, "=")
			if ok && (sensitiveKey([]byte(key)) || holdsEmail([]byte(value))) && value != redacted {
				t.Fatalf("RedactQuery(%q) = %q leaks %q", raw, out, seg)
			}
		}
	})
}
