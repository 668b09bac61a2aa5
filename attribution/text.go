package attribution

import "unicode"

// trimSpace drops ASCII white space around s. Unicode spaces are not
// trimmed: inside a parameter they are as suspicious as any other rune.
func trimSpace[T ~string | ~[]byte](s T) T {
	lo, hi := 0, len(s)
	for lo < hi && isASCIISpace(s[lo]) {
		lo++
	}
	for hi > lo && isASCIISpace(s[hi-1]) {
		hi--
	}
	return s[lo:hi]
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// hasControl reports C0 and C1 control characters and DEL in s, which
// must be valid UTF-8: labels carrying them would corrupt CSV exports and
// log lines.
func hasControl[T ~string | ~[]byte](s T) bool {
	for _, r := range string(s) {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
