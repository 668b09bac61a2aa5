package attribution

import "testing"

func TestNormalizeCurrency(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"upper case", "USD", "USD"},
		{"lower case", "usd", "USD"},
		{"mixed case", "eUr", "EUR"},
		{"spaces trimmed", " gbp ", "GBP"},
		{"yen", "jpy", "JPY"},
		{"caribbean guilder (2025)", "XCG", "XCG"},
		{"zimbabwe gold (2024)", "ZWG", "ZWG"},
		{"fund code", "CLF", "CLF"},
		{"first in table", "AED", "AED"},
		{"last in table", "ZWG", "ZWG"},

		{"unknown", "XYZ", ""},
		{"empty", "", ""},
		{"two letters", "US", ""},
		{"four letters", "USDX", ""},
		{"symbol", "$", ""},
		{"digits", "840", ""},
		{"inner space", "U SD", ""},
		{"full-width letters", "ＵＳＤ", ""},
		{"gold has no minor unit", "XAU", ""},
		{"no currency", "XXX", ""},
		{"testing code", "XTS", ""},
		{"withdrawn lev", "BGN", ""},
		{"withdrawn kuna", "HRK", ""},
		{"withdrawn antillean guilder", "ANG", ""},
		{"non-letter near A", "@SD", ""},
		{"non-letter near Z", "[SD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeCurrency(tt.in)
			if tt.want == "" {
				checkRejection(t, err, ReasonInvalidCurrency, "currency")
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeCurrency(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCurrencyExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"JPY", 0}, {"KRW", 0}, {"VND", 0},
		{"CLP", 0}, {"ISK", 0}, {"XOF", 0}, {"BHD", 3}, {"KWD", 3}, {"JOD", 3},
		{"OMR", 3}, {"TND", 3}, {"IQD", 3}, {"LYD", 3}, {"CLF", 4}, {"UYW", 4},
		{"usd", 2}, {"jpy", 0}, {"XYZ", -1}, {"", -1}, {"XAU", -1},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := CurrencyExponent(tt.code); got != tt.want {
				t.Errorf("CurrencyExponent(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

// TestCurrencyTable checks the table's shape: binary search needs it
// sorted, and every exponent must be one Micros can hold.
func TestCurrencyTable(t *testing.T) {
	if len(currencyTable)%currencyRecord != 0 {
		t.Fatalf("table length %d is not a multiple of %d", len(currencyTable), currencyRecord)
	}
	n := len(currencyTable) / currencyRecord
	if n < 160 {
		t.Fatalf("only %d currencies", n)
	}
	prev := ""
	for i := 0; i < len(currencyTable); i += currencyRecord {
		code, exp := currencyTable[i:i+3], currencyTable[i+3]
		for _, c := range []byte(code) {
			if c < 'A' || c > 'Z' {
				t.Errorf("record %q: code is not 3 upper-case letters", currencyTable[i:i+4])
			}
		}
		if exp != '0' && exp != '2' && exp != '3' && exp != '4' {
			t.Errorf("record %q: unexpected exponent", currencyTable[i:i+4])
		}
		if code <= prev {
			t.Errorf("record %q is not after %q", code, prev)
		}
		prev = code
		if got, err := NormalizeCurrency(code); err != nil || got != code {
			t.Errorf("NormalizeCurrency(%q) = %q, %v", code, got, err)
		}
	}
}
