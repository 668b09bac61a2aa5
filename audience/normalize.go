package audience

import (
	"strings"
	"time"
	"unicode"

	"github.com/pixelpost/pixelpost/attribution"
)

// The normalisations Google's Customer Match and Meta's custom audiences
// ask for before hashing (and that make a plain file match better too).
// Each returns "" when the value cannot be made well-formed.

// lowerTrim is Meta's rule for names, and both platforms' for emails.
func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// letters keeps letters and digits, lower-cased: Meta's rule for city and
// state ("no spaces, no punctuation"), and for names without punctuation.
func letters(s string, keepSpaces bool) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && keepSpaces && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsSpace(r):
			space = true
		}
	}
	return b.String()
}

// name is a first or last name as Meta and a hashed Google file want it:
// lower-case, without punctuation, single spaces.
func name(s string) string { return letters(s, true) }

// email normalises an email address, "" when it is not one.
func email(s string) string {
	e, err := attribution.NormalizeEmail(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(e)
}

// phoneDigits is the phone number with its country calling code, digits
// only ("33612345678"), or "" when it cannot be told. A number written
// with "+" or "00" is international; otherwise it is national and takes
// the calling code of the person's country (its leading trunk 0 dropped).
func phoneDigits(s, countryCode string) string {
	s = strings.TrimSpace(s)
	intl := strings.HasPrefix(s, "+")
	var d strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return "" // letters, extensions: not a number we can vouch for
		}
	}
	digits := d.String()
	if !intl && strings.HasPrefix(digits, "00") {
		digits, intl = digits[2:], true
	}
	if !intl {
		cc := callingCodes[countryCode]
		if cc == "" {
			return ""
		}
		digits = cc + strings.TrimPrefix(digits, "0")
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "" // E.164: at most 15 digits, no leading 0
	}
	return digits
}

// country is an ISO 3166 alpha-2 code, upper-case, from a code or a
// common name of the country; "" when unknown.
func country(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 2 {
		c := strings.ToUpper(s)
		if strings.Contains(isoCountries, c+" ") {
			return c
		}
		return ""
	}
	return countryNames[letters(s, false)]
}

// zip is the postal code as written, trimmed; Meta's form is lower-case,
// without spaces, cut at a '-' (a US ZIP+4 keeps its 5 digits).
func zip(s string) string { return strings.TrimSpace(s) }

func metaZip(s string) string {
	s, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	return strings.ReplaceAll(s, " ", "")
}

// birthDate reads a date of birth: 2006-01-02, 2006/01/02, 20060102,
// 02/01/2006 or 02.01.2006 (day first, as in Europe, unless the first
// number cannot be a day... of a month: 12/31/1990 is read month first).
// It must be in the past and less than 120 years ago.
func birthDate(s string, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006/01/02", "20060102", "02/01/2006", "02.01.2006", "02-01-2006", "01/02/2006"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if t.After(now) || now.Sub(t) > 120*365*24*time.Hour {
			return time.Time{}, false
		}
		return t, true
	}
	return time.Time{}, false
}

// age is how many whole years old someone born at dob is at now.
func age(dob, now time.Time) int {
	n := now.Year() - dob.Year()
	if now.Month() < dob.Month() || (now.Month() == dob.Month() && now.Day() < dob.Day()) {
		n--
	}
	return n
}

// gender is Meta's "m" or "f", "" when not told.
func gender(s string) string {
	switch letters(s, false) {
	case "m", "male", "man", "h", "homme", "masculin", "mr", "monsieur":
		return "m"
	case "f", "female", "woman", "femme", "féminin", "feminin", "mrs", "ms", "madame", "mme":
		return "f"
	}
	return ""
}

// sha256Hex reports whether s already is a SHA-256 hex digest, which a
// hashed file passes through as it is.
func sha256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
