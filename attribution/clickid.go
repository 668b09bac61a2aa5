package attribution

import "time"

// Click ids (SPEC §1.3) are 128 bits: a 48-bit Unix time in milliseconds,
// big-endian, then 80 random bits. They are written in base32hex
// (RFC 4648 §7) in lower case without padding: 26 characters of 0-9 a-v,
// safe in URLs, cookies and Redis keys, case-insensitive systems aside.
// base32hex keeps the byte order, so ids sort like their times (ids of the
// same millisecond in random order), which keeps a store's recent clicks
// together. 80 random bits per millisecond make a guess hopeless: knowing
// a click's time, an attacker still faces 2^80 ids.
const (
	ClickIDLen = 26

	clickIDAlphabet = "0123456789abcdefghijklmnopqrstuv"
	maxClickMillis  = 1<<48 - 1 // year 10889
)

// NewClickID returns the click id of a click at now, with random bits from
// random: the caller fills it from a cryptographically secure source
// (crypto/rand), which keeps this package free of I/O. Times before 1970
// count as 1970 and times after the year 10889 as the last millisecond the
// 48 bits hold; ClickTime then returns the clamped time.
func NewClickID(now time.Time, random [10]byte) string {
	ms := min(max(now.UnixMilli(), 0), maxClickMillis)
	var b [16]byte
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	copy(b[6:], random[:])

	var out [ClickIDLen]byte
	var acc uint64 // bits not yet written, in the low nbits
	nbits, j := 0, 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			out[j] = clickIDAlphabet[acc>>nbits&31]
			j++
		}
	}
	out[j] = clickIDAlphabet[acc<<(5-nbits)&31] // the last 3 bits, then two zero bits
	return string(out[:])
}

// ValidClickID reports whether s is a click id as NewClickID writes them:
// 26 characters of 0-9 a-v (lower case only) whose two padding bits are
// zero, so that each id has exactly one spelling.
func ValidClickID(s string) bool {
	if len(s) != ClickIDLen {
		return false
	}
	for i := range len(s) {
		if clickIDValue(s[i]) < 0 {
			return false
		}
	}
	return clickIDValue(s[ClickIDLen-1])&3 == 0
}

// ClickTime returns the time of click id, to the millisecond, in UTC;
// false when id is not a ValidClickID.
func ClickTime(id string) (time.Time, bool) {
	if !ValidClickID(id) {
		return time.Time{}, false
	}
	var bits uint64 // the first 10 characters: 50 bits
	for i := range 10 {
		bits = bits<<5 | uint64(clickIDValue(id[i]))
	}
	return time.UnixMilli(int64(bits >> 2)).UTC(), true
}

// clickIDValue is the 5-bit value of c, or -1.
func clickIDValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'v':
		return int(c-'a') + 10
	}
	return -1
}
