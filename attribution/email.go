package attribution

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxEmailBytes is the longest address SMTP can carry (RFC 5321 path limit
// minus the angle brackets).
const maxEmailBytes = 254

// NormalizeEmail returns the canonical form of an email address: spaces
// around it trimmed, a space inside the local part restored to the '+' that
// an unencoded checkout substitution lost ("john tag@x.com" ->
// "john+tag@x.com"), lower-cased, Unicode NFC. Invalid addresses are
// ReasonInvalidEmail: invalid UTF-8, control and format characters
// (zero-width spaces, joiners, BOM, bidi marks), full-width look-alikes
// (U+FF00-U+FFEF, such as '＠'), other white space, not exactly one '@', an
// empty local part, a domain without an inner dot or with a space, or more
// than 254 bytes. An address already in canonical form is returned as is,
// without allocating.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if plainEmail(s) {
		return checkEmailShape(s)
	}
	if asciiEmail(s) {
		return checkEmailShape(foldASCIIEmail(s))
	}
	if !utf8.ValidString(s) {
		return "", reject(ReasonInvalidEmail, "email")
	}
	for _, r := range s {
		if r != ' ' && deceptiveRune(r) {
			return "", reject(ReasonInvalidEmail, "email")
		}
	}
	s = restorePlus(s)
	// Lower-casing can decompose (U+0130) and composing can produce a rune
	// with a case mapping: repeat until stable so the result is a fixed
	// point of this function.
	for range 3 {
		next := norm.NFC.String(strings.ToLower(s))
		if next == s {
			break
		}
		s = next
	}
	return checkEmailShape(s)
}

// plainEmail reports the common case that needs no rewriting: printable
// ASCII without upper case or spaces.
func plainEmail(s string) bool {
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// asciiEmail reports printable ASCII with spaces: folding it needs neither
// Unicode case mapping nor normalisation.
func asciiEmail(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// foldASCIIEmail lower-cases s and restores the '+' of its local part in
// one allocation.
func foldASCIIEmail(s string) string {
	b := make([]byte, len(s))
	local := true
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '@':
			local = false
		case c == ' ' && local:
			c = '+'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// deceptiveRune reports runes that have no place in an address and make
// two different-looking strings compare unequal or equal ones differ.
func deceptiveRune(r rune) bool {
	switch {
	case r >= 0xFF00 && r <= 0xFFEF: // full-width and half-width forms
		return true
	case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF:
		return true
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) || r == utf8.RuneError
}

// restorePlus turns spaces in the local part back into '+'; spaces after
// the '@' are left for checkEmailShape to refuse.
func restorePlus(s string) string {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		at = len(s)
	}
	if strings.IndexByte(s[:at], ' ') < 0 {
		return s
	}
	return strings.ReplaceAll(s[:at], " ", "+") + s[at:]
}

// checkEmailShape returns s if it is a well-formed normalised address.
func checkEmailShape(s string) (string, error) {
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 || len(s) > maxEmailBytes {
		return "", reject(ReasonInvalidEmail, "email")
	}
	domain := s[at+1:]
	dot := strings.IndexByte(domain, '.')
	if dot <= 0 || domain[len(domain)-1] == '.' || strings.IndexByte(domain, ' ') >= 0 {
		return "", reject(ReasonInvalidEmail, "email")
	}
	return s, nil
}
