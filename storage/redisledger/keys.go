package redisledger

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// Key layout (version 2, layoutVersion). Every key of an account starts
// with pp:{<account>}: so the whole account lives in one hash slot of a
// Redis Cluster (the hash tag is the account id, which contains no braces:
// see keyable). Ids supplied by users appear in key names only as <h>, the
// lower-case SHA-1 hex of the id (hx), so an orderId such as "{x}" can
// neither pick a slot nor collide with another key.
//
// Records the rules decide on carry a version token, 8 random bytes a
// writer puts first in the value (<tok> below): the commit script checks
// that a record is still the version a decision read (commit.lua).
//
//	pp:{A}:account      hash   name, cur (default currency), max, layout (2), ep: the
//	                           account's epoch, a token every change of what a batch
//	                           reads as a whole moves (tag index, tombstones, campaigns)
//	pp:{A}:log          hash   <log id> -> the account's high-water mark in that hits
//	                           log (16 hex digits); <log id>:<16 hex, last position> ->
//	                           the results of a batch kept for replays until the
//	                           applier's cursor passes them (resultsBlob)
//	pp:{A}:webinars     hash   webinar id -> "" (first seen in a hit) or {"name","tags"} JSON
//	pp:{A}:t:<h>        zset   tag -> its webinar ids, score 0 (read in byte order)
//	pp:{A}:ws:<h>       hash   webinar stats: reg, conv, creg, sales, r:<CUR> revenue micros
//	pp:{A}:wr:<h>       hash   webinar registrants: attendee id -> "<registered ns>:<email>"
//	pp:{A}:cookies      hash   cookie id -> linked attendee id
//	pp:{A}:a:<h>        hash   attendee: r -> <tok> id (length-prefixed) and
//	                           decide.AppendAttendee (email, orders, LTV, webinars,
//	                           acquisition); pv -> <tok> of its profile; one field per
//	                           order of its order list, "o" + SHA-1 of the order key (20
//	                           bytes) + first seen (8 bytes, big-endian) -> ""
//	pp:{A}:o:<h>        string order: <tok> decide.AppendOrder
//	pp:{A}:oa:<h>:<fs>  string an order replaced after its window, as last seen
//	                           (decide.AppendOrder; fs: first seen, ns)
//	pp:{A}:prof:<h>     hash   an attendee's profile fields, by attendee id
//	pp:{A}:k:<h>        string a click (storage.ClickRec JSON); expires its window plus
//	                           storage.ClickGrace after it was applied
//	pp:{A}:cv:<h>       string a conversion of a click (key storage.ConvKey): <tok>
//	                           storage.ConvRec JSON; expires with its click
//	pp:{A}:ak:<h>       set    ids of the clicks an attendee (by attendee id) converted through
//	                           the conversion pixel (an earlier build wrote the click's <h>);
//	                           expires with the last of them, erasure or not
//	pp:{A}:cfg:<kind>   hash   configuration documents of a kind, by id
//	pp:{A}:erased       hash   erased attendee id -> erasure time (ns): its ops dated
//	                           up to then are refused
//
// Left by earlier builds, read but never written (legacy.go): hb:<hour> and
// rb:<hour> (applied hit ids and their results, by hour), hb-since, and
// h:<h>, hr:<h> before them; they expire on their own. Migrate converts
// the rest of layout 1 (hashes for orders and conversions, attendee
// fields, cookie links prefixed with the attendee's h).
//
// Money is int64 micros and times are int64 Unix nanoseconds.

// layoutVersion is the account field "layout" of the layout above.
const layoutVersion = "2"

// keyPrefix is the prefix of every key of an account.
func keyPrefix(account string) string {
	return "pp:{" + account + "}:"
}

// accountKey is KEYS[1] of the commit script: it names the account's slot.
func accountKey(account string) string {
	return keyPrefix(account) + "account"
}

// hx is the form of a user-supplied id inside a key name.
func hx(id string) string { return hxKey("", id) }

// hxKey is prefix followed by hx(id), built with one allocation: the
// applier builds several such keys per op.
func hxKey(prefix, id string) string {
	sum := sha1.Sum([]byte(id))
	var buf [16 + 2*sha1.Size]byte
	b := append(buf[:0], prefix...)
	b = hex.AppendEncode(b, sum[:])
	return string(b)
}

// sha1Raw is the SHA-1 of id, 20 bytes, and hexOf the hex of such bytes.
func sha1Raw(id string) [sha1.Size]byte { return sha1.Sum([]byte(id)) }

func hexOf(raw string) string { return hex.EncodeToString([]byte(raw)) }

// Key suffixes (after keyPrefix) of the records.
const (
	sfxAccount  = "account"
	sfxLog      = "log"
	sfxWebinars = "webinars"
	sfxCookies  = "cookies"
	sfxErased   = "erased"
)

func orderKey(key string) string               { return hxKey("o:", key) }
func attendeeKey(id string) string             { return hxKey("a:", id) }
func profileKey(id string) string              { return hxKey("prof:", id) }
func clickKey(id string) string                { return hxKey("k:", id) }
func convKey(key string) string                { return hxKey("cv:", key) }
func tiesKey(id string) string                 { return hxKey("ak:", id) }
func statsKey(webinar string) string           { return hxKey("ws:", webinar) }
func registrantsKey(webinar string) string     { return hxKey("wr:", webinar) }
func tagKey(tag string) string                 { return hxKey("t:", tag) }
func configKeySuffix(kind string) string       { return "cfg:" + kind }
func archivedKey(keyHex, fs string) string     { return "oa:" + keyHex + ":" + fs }
func blobField(log string, last uint64) string { return log + ":" + pos16(last) }

// maxIDLen bounds every id of an op, as the embedded ledger does, so both
// ledgers reject the same ops.
const maxIDLen = 4096

// keyable reports whether an account id can be a hash tag: non-empty,
// bounded, and without braces (a brace would end or move the tag, and two
// accounts could share keys).
func keyable(account string) bool {
	return account != "" && len(account) <= maxIDLen && !strings.ContainsAny(account, "{}")
}
