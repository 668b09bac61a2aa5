package redisledger

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// Key layout. Every key of an account starts with pp:{<account>}: so the
// whole account lives in one hash slot of a Redis Cluster (the hash tag is
// the account id, which contains no braces: see keyable). Ids supplied by
// users appear in key names only as <h>, the lower-case SHA-1 hex of the id
// (computed by redis.sha1hex in the scripts and by hx here), so an orderId
// such as "{x}" can neither pick a slot nor collide with another key.
//
//	pp:{A}:account      hash   name, cur (default currency); exists = the account exists
//	pp:{A}:hb:<hour>    hash   hit ids (as they are: a field cannot move a key) applied in that hour of their time (hours since
//	                           1970 UTC) -> "1"; expires storage.HitRetention after the hour
//	pp:{A}:rb:<hour>    hash   the same hit ids -> their result (JSON); expires
//	                           storage.ResultRetention after the hour
//	pp:{A}:hb-since     string when (ns, server clock) the account's hit ids went to hb:
//	                           hashes; an op older than that is also looked up in the
//	                           earlier layout, pp:{A}:h:<h> and its result pp:{A}:hr:<h>
//	pp:{A}:webinars     hash   webinar id -> "" (first seen in a hit) or {"name","tags"} JSON
//	pp:{A}:t:<h>        zset   tag -> its webinar ids, score 0 (read in byte order)
//	pp:{A}:ws:<h>       hash   webinar stats: reg, conv, creg, sales, r:<CUR> revenue micros
//	pp:{A}:wr:<h>       hash   webinar registrants: attendee id -> "<registered ns>:<email>"
//	pp:{A}:cookies      hash   cookie id -> linked attendee id
//	pp:{A}:a:<h>        hash   attendee: id, em (email), n (orders), l:<CUR> LTV micros,
//	                           acq (JSON list), w:<webinar> webinars it converted for,
//	                           o:<order key h>:<first seen ns> its order list, pf ("1")
//	                           once it has a profile (even one without fields)
//	pp:{A}:o:<h>        hash   order: k, amt, cur, w (JSON list), att, src, fs, ls (ns), and
//	                           the labels id, pid, pn when not empty
//	pp:{A}:oa:<h>:<fs>  hash   an order replaced after its window, as last seen (for its attendee)
//	pp:{A}:prof:<h>     hash   an attendee's profile fields (from leads), by attendee id
//	pp:{A}:k:<h>        string a click (storage.ClickRec JSON); expires its window plus
//	                           storage.ClickGrace after it was applied
//	pp:{A}:cv:<h>       hash   a conversion of a click (key storage.ConvKey): st, raw, v, cur;
//	                           expires with its click
//	pp:{A}:ak:<h>       set    ids of the clicks an attendee (by attendee id) converted through
//	                           the conversion pixel (an earlier build wrote the click's <h>);
//	                           expires with the last of them, erasure or not
//	pp:{A}:cfg:<kind>   hash   configuration documents of a kind, by id
//	pp:{A}:erased       hash   erased attendee id -> erasure time (ns): its ops dated
//	                           up to then are refused (erase.lua)
//
// An attendee is one small hash (a listpack in Redis) rather than three
// keys: less memory and fewer key creations per new customer. Money is
// int64 micros and times are int64 Unix nanoseconds, both as decimal
// strings. Zero money totals are deleted when they fall back to 0.

// keyPrefix is the prefix of every key of an account.
func keyPrefix(account string) string {
	return "pp:{" + account + "}:"
}

// accountKey is KEYS[1] of every script: it names the account's slot.
func accountKey(account string) string {
	return keyPrefix(account) + "account"
}

// hx is the form of a user-supplied id inside a key name.
func hx(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:])
}

// maxIDLen bounds every id of an op, as the embedded ledger does, so both
// ledgers reject the same ops.
const maxIDLen = 4096

// keyable reports whether an account id can be a hash tag: non-empty,
// bounded, and without braces (a brace would end or move the tag, and two
// accounts could share keys).
func keyable(account string) bool {
	return account != "" && len(account) <= maxIDLen && !strings.ContainsAny(account, "{}")
}
