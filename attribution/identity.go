package attribution

import (
	"crypto/sha256"
	"encoding/hex"
)

// EmailSHA256 is the lower-case hex SHA-256 of a normalised email: the only
// form of an email written to raw hits.
func EmailSHA256(email string) string {
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// EmailAttendeeID is the attendee id of a normalised email.
func EmailAttendeeID(email string) string {
	return "e_" + EmailSHA256(email)[:24]
}

// CookieAttendeeID is the attendee id of a pp_aid cookie value.
func CookieAttendeeID(cookie string) string {
	return "c_" + cookie
}
