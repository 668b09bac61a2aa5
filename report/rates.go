package report

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/pixelpost/pixelpost/attribution"
)

// Rate limits: a rate is a positive plain decimal with at most
// maxRateIntDigits digits before the point and maxRateDecimals after it
// (1 JPY = 0.0061 EUR, 1 EUR = 165.38 JPY, 1 IDR = 0.000061 USD all fit).
const (
	maxRateIntDigits = 9
	maxRateDecimals  = 10
	// MaxRates bounds the currencies an account converts.
	MaxRates = 50
)

// Rates are an account's fixed exchange rates into its own currency (SPEC
// §2.7): Rates["EUR"] is the value of 1 EUR in the account's currency.
// The zero value converts nothing but the account's currency itself.
type Rates struct {
	currency string              // the account's currency
	rat      map[string]*big.Rat // exact
	text     map[string]string   // as given, normalised ("1.08")
}

// ParseRates validates an account's rates into its currency: each key an
// ISO 4217 code other than currency, each value a positive plain decimal
// ("1.08"; no sign, exponent or thousands separator). Every problem is
// reported at once.
func ParseRates(m map[string]string, currency string) (Rates, error) {
	r := Rates{currency: currency, rat: map[string]*big.Rat{}, text: map[string]string{}}
	if len(m) > MaxRates {
		return r, fmt.Errorf("at most %d rates", MaxRates)
	}
	var errs []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		cur, err := attribution.NormalizeCurrency(k)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%q is not an ISO 4217 currency code", k))
			continue
		}
		if cur == currency {
			errs = append(errs, fmt.Sprintf("%s is the account's own currency (its rate is 1)", cur))
			continue
		}
		q, text, ok := parseRate(v)
		if !ok {
			errs = append(errs, fmt.Sprintf("rate of %s %q is not a positive decimal (at most %d digits before the point and %d after)",
				cur, v, maxRateIntDigits, maxRateDecimals))
			continue
		}
		if _, dup := r.rat[cur]; dup {
			errs = append(errs, fmt.Sprintf("%s given twice", cur))
			continue
		}
		r.rat[cur], r.text[cur] = q, text
	}
	if len(errs) > 0 {
		return Rates{currency: currency}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return r, nil
}

// parseRate reads a positive plain decimal exactly, and its normal form
// (no leading zeros before the unit, no trailing zeros after the point).
func parseRate(s string) (*big.Rat, string, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(whole) == 0 || len(whole) > maxRateIntDigits || len(frac) > maxRateDecimals || strings.Count(s, ".") > 1 {
		return nil, "", false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return nil, "", false
		}
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	text := whole
	if frac != "" {
		text += "." + frac
	}
	q, ok := new(big.Rat).SetString(text)
	if !ok || q.Sign() <= 0 {
		return nil, "", false
	}
	return q, text, true
}

// Map returns the rates as given (normalised), for the API and storage.
func (r Rates) Map() map[string]string {
	out := make(map[string]string, len(r.text))
	for k, v := range r.text {
		out[k] = v
	}
	return out
}

// Currency is the currency the rates convert into.
func (r Rates) Currency() string { return r.currency }

// convert returns the sum of m converted into the account's currency,
// rounded to the micro-unit (halves away from zero), and the rates it
// used; ok is false when a currency of m has no rate (the figure would
// not be exact: none is given).
func (r Rates) convert(m map[string]int64, used map[string]string) (attribution.Micros, bool) {
	sum := new(big.Rat)
	for _, cur := range sortedKeys(m) {
		v := new(big.Rat).SetInt64(m[cur])
		if cur != r.currency {
			q, ok := r.rat[cur]
			if !ok {
				return 0, false
			}
			v.Mul(v, q)
			used[cur] = r.text[cur]
		}
		sum.Add(sum, v)
	}
	return attribution.Micros(roundRat(sum)), true
}

// missing returns the currencies of the maps that have no rate, sorted.
func (r Rates) missing(ms ...map[string]int64) []string {
	seen := map[string]bool{}
	for _, m := range ms {
		for cur := range m {
			if cur != r.currency && r.rat[cur] == nil {
				seen[cur] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for cur := range seen {
		out = append(out, cur)
	}
	sort.Strings(out)
	return out
}

// roundRat rounds q to the nearest integer, halves away from zero.
func roundRat(q *big.Rat) int64 {
	num, den := new(big.Int).Set(q.Num()), q.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	num.Mul(num, big.NewInt(2)).Add(num, den)          // 2n + d
	num.Quo(num, new(big.Int).Mul(den, big.NewInt(2))) // floor((2n + d) / 2d) = round(n/d)
	if neg {
		num.Neg(num)
	}
	return num.Int64()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
