package attribution

import "strconv"

const (
	// maxIntegerDigits bounds the integer part of an amount: 10^12 major
	// units is 10^18 Micros, so any amount and the sum of a few of them fit
	// in an int64 (9.2 * 10^18).
	maxIntegerDigits = 12
	// microDigits is the number of decimals a Micros value can hold.
	microDigits = 6
)

// ParseAmount parses a plain decimal amount in currency (an ISO 4217 code)
// into Micros, with integer arithmetic only.
//
// Grammar: ASCII digits with at most one decimal separator, '.' or ','
// ("49.99", "49,99"); at most 12 integer digits (leading zeros count). A
// bare separator at either end is accepted (".5" is 0.5, "5." is 5): both
// are unambiguous. Signs, spaces, exponents, currency symbols, thousands
// separators, "NaN" and "Inf" are ReasonInvalidAmount, and so is a comma
// amount that reads as well as a thousands grouping in a currency with fewer
// than three decimals ("1,000 USD" is far more likely a thousand than one
// dollar; "0,500" and "1,0000" are not ambiguous).
//
// Decimals beyond the currency's exponent are accepted only when they are
// zeros ("49.990 USD"); otherwise ("19.999 USD", "10.5 JPY") the amount is
// ReasonAmountPrecision. An unknown currency is ReasonInvalidCurrency.
func ParseAmount(s, currency string) (Micros, error) {
	exp := CurrencyExponent(currency)
	if exp < 0 {
		return 0, reject(ReasonInvalidCurrency, "currency")
	}
	whole, frac, sep, ok := splitAmount(s)
	if !ok || len(whole) > maxIntegerDigits || (sep == ',' && exp < 3 && thousandsLike(whole, frac)) {
		return 0, reject(ReasonInvalidAmount, "amount")
	}
	frac = trimTrailingZeros(frac)
	if len(frac) > exp {
		return 0, reject(ReasonAmountPrecision, "amount")
	}
	var m int64
	for i := range len(whole) {
		m = m*10 + int64(whole[i]-'0')
	}
	for i := range microDigits {
		m *= 10
		if i < len(frac) {
			m += int64(frac[i] - '0')
		}
	}
	return Micros(m), nil
}

// splitAmount splits s at its only separator; ok is false unless both
// parts are ASCII digits and there is at least one digit.
func splitAmount(s string) (whole, frac string, sep byte, ok bool) {
	whole = s
	for i := range len(s) {
		c := s[i]
		if c == '.' || c == ',' {
			if sep != 0 {
				return "", "", 0, false
			}
			sep, whole, frac = c, s[:i], s[i+1:]
		} else if c < '0' || c > '9' {
			return "", "", 0, false
		}
	}
	return whole, frac, sep, len(whole)+len(frac) > 0
}

// thousandsLike reports a comma amount that reads as well as a thousands
// grouping: a first group of 1-3 digits not starting with 0, then exactly
// three digits ("1,000", "12,500"; not "0,500" nor "1234,567").
func thousandsLike(whole, frac string) bool {
	return len(frac) == 3 && len(whole) >= 1 && len(whole) <= 3 && whole[0] != '0'
}

func trimTrailingZeros(s string) string {
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}

// FormatAmount prints m as a decimal in currency with exactly the
// currency's number of decimals ("49.99" USD, "1000" JPY, "0.500" BHD),
// negative amounts with a leading '-'. Should m hold more precision than the
// currency has, the extra digits are printed rather than rounded away: money
// is never lost in print. An unknown currency prints the digits m needs.
// ParseAmount(FormatAmount(m, c), c) == m for every amount ParseAmount accepts.
func FormatAmount(m Micros, currency string) string {
	u := uint64(m)
	if m < 0 {
		u = -u // also right for the most negative int64
	}
	whole, frac := u/MicrosPerUnit, u%MicrosPerUnit
	digits := max(CurrencyExponent(currency), 0)
	for digits < microDigits && frac%pow10(microDigits-digits) != 0 {
		digits++
	}
	var b [32]byte
	out := b[:0]
	if m < 0 {
		out = append(out, '-')
	}
	out = strconv.AppendUint(out, whole, 10)
	if digits > 0 {
		out = append(out, '.')
		frac /= pow10(microDigits - digits)
		for i := digits - 1; i >= 0; i-- {
			out = append(out, byte('0'+frac/pow10(i)%10))
		}
	}
	return string(out)
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
