package attribution

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name, in, currency string
		want               Micros
		reason             string
	}{
		{"plain decimal", "49.99", "USD", 49_990_000, ""},
		{"comma separator", "49,99", "USD", 49_990_000, ""},
		{"zeros beyond the exponent", "49.990", "USD", 49_990_000, ""},
		{"many trailing zeros", "1.000000000", "USD", 1_000_000, ""},
		{"integer", "1000", "USD", 1_000_000_000, ""},
		{"zero", "0", "USD", 0, ""},
		{"zero with decimals", "0.00", "USD", 0, ""},
		{"lower-case currency", "5", "usd", 5_000_000, ""},
		{"leading dot", ".5", "USD", 500_000, ""},
		{"trailing dot", "5.", "USD", 5_000_000, ""},
		{"leading comma", ",5", "USD", 500_000, ""},
		{"twelve integer digits", "999999999999.99", "USD", 999_999_999_999_990_000, ""},
		{"yen integer", "1000", "JPY", 1_000_000_000, ""},
		{"yen zero decimals", "1000.00", "JPY", 1_000_000_000, ""},
		{"dinar three decimals", "0.125", "BHD", 125_000, ""},
		{"dinar comma three decimals", "1,000", "BHD", 1_000_000, ""},
		{"clf four decimals", "1.2345", "CLF", 1_234_500, ""},
		{"comma one decimal", "1,5", "USD", 1_500_000, ""},
		{"comma three decimals after zero", "0,500", "USD", 500_000, ""},
		{"comma three decimals after four digits", "1234,500", "USD", 1_234_500_000, ""},
		{"comma four decimals", "1,0000", "USD", 1_000_000, ""},

		{"too precise for USD", "19.999", "USD", 0, ReasonAmountPrecision},
		{"decimals in yen", "10.5", "JPY", 0, ReasonAmountPrecision},
		{"too precise for BHD", "0.0001", "BHD", 0, ReasonAmountPrecision},
		{"too precise for CLF", "1.23456", "CLF", 0, ReasonAmountPrecision},
		{"beyond micros", "0.0000001", "USD", 0, ReasonAmountPrecision},

		{"exponent", "1e3", "USD", 0, ReasonInvalidAmount},
		{"negative", "-5", "USD", 0, ReasonInvalidAmount},
		{"plus sign", "+5", "USD", 0, ReasonInvalidAmount},
		{"NaN", "NaN", "USD", 0, ReasonInvalidAmount},
		{"Inf", "Inf", "USD", 0, ReasonInvalidAmount},
		{"leading space", " 5", "USD", 0, ReasonInvalidAmount},
		{"trailing space", "5 ", "USD", 0, ReasonInvalidAmount},
		{"currency symbol", "$5", "USD", 0, ReasonInvalidAmount},
		{"currency suffix", "5USD", "USD", 0, ReasonInvalidAmount},
		{"thirteen integer digits", "1234567890123", "USD", 0, ReasonInvalidAmount},
		{"twenty digits", "12345678901234567890", "USD", 0, ReasonInvalidAmount},
		{"leading zeros count", "0000000000001", "USD", 0, ReasonInvalidAmount},
		{"thousands and decimal", "1,234.56", "USD", 0, ReasonInvalidAmount},
		{"european thousands", "1.234,56", "USD", 0, ReasonInvalidAmount},
		{"comma thousands is ambiguous", "1,000", "USD", 0, ReasonInvalidAmount},
		{"comma thousands in yen", "1,000", "JPY", 0, ReasonInvalidAmount},
		{"comma thousands of a larger amount", "125,000", "USD", 0, ReasonInvalidAmount},
		{"empty", "", "USD", 0, ReasonInvalidAmount},
		{"lone dot", ".", "USD", 0, ReasonInvalidAmount},
		{"lone comma", ",", "USD", 0, ReasonInvalidAmount},
		{"two dots", "1..2", "USD", 0, ReasonInvalidAmount},
		{"hex", "0x10", "USD", 0, ReasonInvalidAmount},
		{"arabic-indic digits", "٤٢", "USD", 0, ReasonInvalidAmount},
		{"full-width digits", "４２", "USD", 0, ReasonInvalidAmount},
		{"unknown currency", "5", "XYZ", 0, ReasonInvalidCurrency},
		{"no currency", "5", "", 0, ReasonInvalidCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAmount(tt.in, tt.currency)
			param := "amount"
			if tt.reason == ReasonInvalidCurrency {
				param = "currency"
			}
			if tt.reason == "" {
				param = ""
			}
			checkRejection(t, err, tt.reason, param)
			if got != tt.want {
				t.Errorf("ParseAmount(%q, %s) = %d, want %d", tt.in, tt.currency, got, tt.want)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		name     string
		m        Micros
		currency string
		want     string
	}{
		{"dollars", 49_990_000, "USD", "49.99"},
		{"whole dollars", 5_000_000, "USD", "5.00"},
		{"zero", 0, "USD", "0.00"},
		{"cents", 10_000, "USD", "0.01"},
		{"yen", 1_000_000_000, "JPY", "1000"},
		{"dinar", 500_000, "BHD", "0.500"},
		{"clf", 10_000, "CLF", "0.0100"},
		{"negative", -1_500_000, "USD", "-1.50"},
		{"negative below one", -10_000, "USD", "-0.01"},
		{"extra precision is printed", 1_234_567, "USD", "1.234567"},
		{"yen with a fraction", 1_500_000, "JPY", "1.5"},
		{"unknown currency prints what it needs", 49_990_000, "", "49.99"},
		{"unknown currency integer", 7_000_000, "XYZ", "7"},
		{"largest amount", 999_999_999_999_990_000, "USD", "999999999999.99"},
		{"most negative", math.MinInt64, "USD", "-9223372036854.775808"},
		{"most positive", math.MaxInt64, "USD", "9223372036854.775807"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatAmount(tt.m, tt.currency); got != tt.want {
				t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.m, tt.currency, got, tt.want)
			}
		})
	}
}

// TestAmountRoundTrip: every amount a currency can express prints and
// parses back to itself.
func TestAmountRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cur := range []string{"USD", "JPY", "BHD", "CLF", "EUR", "KRW"} {
		t.Run(cur, func(t *testing.T) {
			step := int64(pow10(microDigits - CurrencyExponent(cur)))
			limit := int64(1e12) * MicrosPerUnit / step
			for range 10_000 {
				m := Micros(rng.Int64N(limit) * step)
				s := FormatAmount(m, cur)
				got, err := ParseAmount(s, cur)
				if err != nil || got != m {
					t.Fatalf("ParseAmount(FormatAmount(%d) = %q) = %d, %v", m, s, got, err)
				}
			}
		})
	}
}

// TestFormatAmountNeverLosesMoney: any Micros, of any precision, prints
// digits that are exactly its value.
func TestFormatAmountNeverLosesMoney(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		m := Micros(rng.Int64())
		if rng.IntN(2) == 0 {
			m = -m
		}
		for _, cur := range []string{"USD", "JPY", "BHD"} {
			s := FormatAmount(m, cur)
			if got := decimalMicros(t, s); got != m {
				t.Fatalf("FormatAmount(%d, %s) = %q reads as %d", m, cur, s, got)
			}
		}
	}
}

// decimalMicros reads a decimal string with up to 6 decimals as Micros.
func decimalMicros(t *testing.T, s string) Micros {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > microDigits {
		t.Fatalf("%q has more than 6 decimals", s)
	}
	digits := whole + frac + strings.Repeat("0", microDigits-len(frac))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return Micros(v)
}
