package attribution

// currencyTable lists the active ISO 4217 alphabetic codes with their
// minor-unit exponents, one 4-byte record each ("USD2"), sorted for binary
// search. Source: ISO 4217 List One published 2026-01-01. Codes whose minor
// unit is "N.A." (precious metals, bond-market units, XDR, XSU, XUA, XTS,
// XXX) are left out: no amount in them can be checked or printed, and no
// checkout sells in them. Withdrawn codes (BGN, ANG, HRK, SLL, CUC, ZWL...)
// are left out too.
const currencyTable = "" +
	"AED2AFN2ALL2AMD2AOA2ARS2AUD2AWG2AZN2BAM2BBD2BDT2BHD3BIF0BMD2BND2" +
	"BOB2BOV2BRL2BSD2BTN2BWP2BYN2BZD2CAD2CDF2CHE2CHF2CHW2CLF4CLP0CNY2" +
	"COP2COU2CRC2CUP2CVE2CZK2DJF0DKK2DOP2DZD2EGP2ERN2ETB2EUR2FJD2FKP2" +
	"GBP2GEL2GHS2GIP2GMD2GNF0GTQ2GYD2HKD2HNL2HTG2HUF2IDR2ILS2INR2IQD3" +
	"IRR2ISK0JMD2JOD3JPY0KES2KGS2KHR2KMF0KPW2KRW0KWD3KYD2KZT2LAK2LBP2" +
	"LKR2LRD2LSL2LYD3MAD2MDL2MGA2MKD2MMK2MNT2MOP2MRU2MUR2MVR2MWK2MXN2" +
	"MXV2MYR2MZN2NAD2NGN2NIO2NOK2NPR2NZD2OMR3PAB2PEN2PGK2PHP2PKR2PLN2" +
	"PYG0QAR2RON2RSD2RUB2RWF0SAR2SBD2SCR2SDG2SEK2SGD2SHP2SLE2SOS2SRD2" +
	"SSP2STN2SVC2SYP2SZL2THB2TJS2TMT2TND3TOP2TRY2TTD2TWD2TZS2UAH2UGX0" +
	"USD2USN2UYI0UYU2UYW4UZS2VED2VES2VND0VUV0WST2XAD2XAF0XCD2XCG2XOF0" +
	"XPF0YER2ZAR2ZMW2ZWG2"

const currencyRecord = 4 // three letters and the exponent digit

// NormalizeCurrency returns the upper-case ISO 4217 code of s, matched
// case-insensitively after trimming spaces ("usd" -> "USD"). An unknown code
// is a ReasonInvalidCurrency rejection. The result never aliases s.
func NormalizeCurrency(s string) (string, error) {
	if i := currencyIndex(trimSpace(s)); i >= 0 {
		return currencyTable[i : i+3], nil
	}
	return "", reject(ReasonInvalidCurrency, "currency")
}

// CurrencyExponent is the number of minor-unit digits of code (2 for USD, 0
// for JPY, 3 for BHD, 4 for CLF), matched case-insensitively; -1 when code is
// not a known currency.
func CurrencyExponent(code string) int {
	if i := currencyIndex(code); i >= 0 {
		return int(currencyTable[i+3] - '0')
	}
	return -1
}

// currencyIndex is the offset of code's record in currencyTable, or -1.
// It works on string and []byte alike so that the pixel parser need not
// convert (and allocate) to look a code up.
func currencyIndex[T ~string | ~[]byte](code T) int {
	if len(code) != 3 {
		return -1
	}
	var up [3]byte
	for i := range 3 {
		c := code[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return -1
		}
		up[i] = c
	}
	lo, hi := 0, len(currencyTable)/currencyRecord
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		rec := currencyTable[mid*currencyRecord : mid*currencyRecord+3]
		switch {
		case rec == string(up[:]):
			return mid * currencyRecord
		case rec < string(up[:]):
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1
}
