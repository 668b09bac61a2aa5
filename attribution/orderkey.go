package attribution

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FingerprintWindow is how long a fingerprint order key stays one order: a
// sighting more than this after the order's last one starts a new order.
const FingerprintWindow = 30 * time.Minute

// OrderKeyInput is what identifies an order when a hit names it (SPEC §2.1).
type OrderKeyInput struct {
	OrderID    string
	AttendeeID string   // EmailAttendeeID or CookieAttendeeID, or ""
	Webinars   []string // the hit's explicit webinar ids
	Tags       []string // the hit's tags (not resolved: the key must not change when a tag does)
	Amount     Micros
	Currency   string
	// IP is the client address; only a fingerprint reads it, so it is
	// turned into text only then.
	IP        netip.Addr
	UserAgent string
}

// OrderKey derives the order key of a hit and its window (SPEC §2.1):
//
//   - with an order id: "o:" + OrderID, window 0;
//   - else with an attendee: "a:" + AttendeeID + "|" + the set, window 0, so
//     that a refreshed thank-you page is the same order;
//   - else "f:" + 32 hex digits of a SHA-256 over the set, amount, currency,
//     IP and user agent, window FingerprintWindow.
//
// The set is the sorted, deduplicated union of the webinar ids and "#" +
// each tag, joined by ",": the order in which the page lists them does not
// matter, and a tag never collides with a webinar of the same name (ids
// cannot contain '#' or ',').
func OrderKey(in OrderKeyInput) (key string, window time.Duration) {
	switch {
	case in.OrderID != "":
		return "o:" + in.OrderID, 0
	case in.AttendeeID != "":
		return "a:" + in.AttendeeID + "|" + webinarSet(in.Webinars, in.Tags), 0
	}
	return "f:" + fingerprint(in), FingerprintWindow
}

func webinarSet(webinars, tags []string) string {
	set := make([]string, 0, len(webinars)+len(tags))
	set = append(set, webinars...)
	for _, t := range tags {
		set = append(set, "#"+t)
	}
	slices.Sort(set)
	return strings.Join(slices.Compact(set), ",")
}

// fingerprint hashes length-prefixed fields, so that no two different
// inputs share an encoding whatever bytes they contain.
func fingerprint(in OrderKeyInput) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{
		webinarSet(in.Webinars, in.Tags),
		strconv.FormatInt(int64(in.Amount), 10),
		in.Currency, in.IP.String(), in.UserAgent,
	} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
