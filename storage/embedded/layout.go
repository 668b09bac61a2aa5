package embedded

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// The bolt file:
//
//	meta                      "version" -> 1; "newest_day" -> day key;
//	                          "clicks_indexed" once clickdays is complete;
//	                          "ties_indexed" once clickatts is
//	accounts/<account>/       one nested bucket per account:
//	  "meta"                  -> accountRec
//	  webinars/   webinar     -> webinarRec (configured or first seen in a hit)
//	  tags/       lp(tag) webinar -> ""   (the tag index)
//	  orders/     order key   -> orderRec (the current order of the key)
//	  attorders/  lp(attendee) time(first seen) order key
//	                          -> "" while the order is current, else the
//	                             orderRec it had when a fingerprint window
//	                             replaced it
//	  attendees/  attendee id -> attendeeRec
//	  cookies/    cookie      -> attendee id (the link)
//	  registrants/ lp(webinar) attendee -> time(registered) email
//	  converted/  lp(webinar) attendee -> ""
//	  stats/      webinar     -> statsRec
//	  attclicks/  lp(attendee) click id -> "" (clicks it converted: s2s.go)
//	  clickatts/  lp(click id) attendee -> "" (the same ties, by click)
//	hits/         lp(account) hit id -> day key (remembered hit ids)
//	hitdays/<day>/ lp(account) hit id -> "" (for dropping a whole day)
//	clickdays/<day>/ lp(account) click id -> "" (clicks by the day they
//	                          may be dropped: window end + storage.ClickGrace)
//
// lp(s) is s prefixed with its length as a uvarint, so composite keys are
// unambiguous whatever bytes the ids contain and a prefix scan over lp(x)
// finds exactly x's entries, sorted by the rest of the key.
var (
	bucketMeta      = []byte("meta")
	bucketAccounts  = []byte("accounts")
	bucketHits      = []byte("hits")
	bucketHitDays   = []byte("hitdays")
	bucketClickDays = []byte("clickdays")

	keyNewestDay     = []byte("newest_day")
	keyClicksIndexed = []byte("clicks_indexed") // clickdays holds every click
	keyTiesIndexed   = []byte("ties_indexed")   // clickatts holds every tie
	keyAccount       = []byte("meta")

	bucketWebinars    = []byte("webinars")
	bucketTags        = []byte("tags")
	bucketOrders      = []byte("orders")
	bucketAttOrders   = []byte("attorders")
	bucketAttendees   = []byte("attendees")
	bucketCookies     = []byte("cookies")
	bucketRegistrants = []byte("registrants")
	bucketConverted   = []byte("converted")
	bucketStats       = []byte("stats")

	accountBuckets = [][]byte{bucketWebinars, bucketTags, bucketOrders, bucketAttOrders,
		bucketAttendees, bucketCookies, bucketRegistrants, bucketConverted, bucketStats}
)

const layoutVersion = 1

var empty = []byte{}

// lp appends the length-prefixed s to b.
func lp(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// unpair splits a pair key; ok is false if k is not one.
func unpair(k []byte) (a, b string, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || n > uint64(len(k)-w) {
		return "", "", false
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):]), true
}

// pair is lp(a) followed by b: a composite key.
func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+len(b)+2)
	return append(lp(k, a), b...)
}

// acctBuckets are the sub-buckets of one account.
type acctBuckets struct {
	root, webinars, tags, orders, attOrders, attendees, cookies, registrants, converted, stats *bolt.Bucket
}

// openAccount returns the buckets of an account, or ok=false when the
// account does not exist.
func openAccount(tx *bolt.Tx, id string) (acctBuckets, bool) {
	if id == "" {
		return acctBuckets{}, false
	}
	root := tx.Bucket(bucketAccounts).Bucket([]byte(id))
	if root == nil {
		return acctBuckets{}, false
	}
	return acctBuckets{
		root:        root,
		webinars:    root.Bucket(bucketWebinars),
		tags:        root.Bucket(bucketTags),
		orders:      root.Bucket(bucketOrders),
		attOrders:   root.Bucket(bucketAttOrders),
		attendees:   root.Bucket(bucketAttendees),
		cookies:     root.Bucket(bucketCookies),
		registrants: root.Bucket(bucketRegistrants),
		converted:   root.Bucket(bucketConverted),
		stats:       root.Bucket(bucketStats),
	}, true
}
