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
	return AttendeeIDOfEmailSHA256(EmailSHA256(email))
}

// AttendeeIDOfEmailSHA256 is EmailAttendeeID from the email's EmailSHA256,
// for callers that hold it already: a hit's email is hashed once, not once
// per use. sum must be what EmailSHA256 returned.
func AttendeeIDOfEmailSHA256(sum string) string {
	return "e_" + sum[:24]
}

// CookieAttendeeID is the attendee id of a pp_aid cookie value.
func CookieAttendeeID(cookie string) string {
	return "c_" + cookie
}
