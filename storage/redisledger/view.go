package redisledger

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// view is decide.View on an account in Redis, for one attempt at a batch:
// records come from what was read ahead (pre: an erasure, a webinar), the
// node's cache, or are taken to be absent, and every one is added to the
// commit's checks with the value it had (the decision holds only if they
// are still so when the commit script runs).
type view struct {
	l        *Ledger
	ctx      context.Context
	account  string
	st       *acctState
	lg       *acctLogs
	req      *request
	checked  map[string]string // cache key -> raw value checked
	pre      map[string]string // cache key -> raw value read ahead
	absent   map[string]bool   // attendees read as absent (so without registrations)
	clickIDs map[string]string // cache key -> click id, of the clicks checked
	erasure  *erasureRead      // what an erasure read ahead (the records themselves are in pre)
	missed   []string          // cache keys of the records the cache did not hold
}

// erasureRead lists what readErasure found of an attendee.
type erasureRead struct {
	orders   []string // its order list (attendee fields, orderListField)
	webinars []string // the account's
	ties     []string // the h of the clicks it converted
	cookies  []string // linked to it
	blobs    []string // the fields of the account's kept results
}

var _ decide.View = (*view)(nil)

// newView starts a view for about n ops (a conversion reads two or three
// records: its checks start that big).
func (l *Ledger) newView(ctx context.Context, account string, st *acctState, lg *acctLogs, n int) *view {
	return &view{l: l, ctx: ctx, account: account, st: st, lg: lg, req: &request{refs: make([]checkRef, 0, 3*n)},
		checked: make(map[string]string, 3*n), absent: map[string]bool{}, clickIDs: map[string]string{}}
}

// raw returns a record's value ("" absent) and makes it a check.
func (v *view) raw(key, field string, kind recordKind) string {
	ck := cacheKey(v.account, key, field)
	if val, ok := v.checked[ck]; ok {
		return val
	}
	val, ok := v.pre[ck]
	if !ok {
		if val, ok = v.l.cache.get(ck); !ok {
			v.missed = append(v.missed, ck) // taken as absent, and checked so
		}
	}
	v.checked[ck] = val
	v.req.check(checkRef{key: key, field: field, kind: kind}, kind.want(val))
	return val
}

func (v *view) Exists() (bool, error) { return v.st.exists, nil }

func (v *view) Mark(log string) (uint64, error) {
	m := v.raw(sfxLog, log, kindExact)
	if m == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(m, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("mark of log %q of %s: bad value %q", log, v.account, m)
	}
	return n, nil
}

// Retained finds pos in the batch of results kept for it.
func (v *view) Retained(log string, pos uint64) (*storage.Result, error) {
	var field string
	for _, b := range v.lg.blobsOf(log) {
		if b.last >= pos {
			field = b.field
			break
		}
	}
	if field == "" {
		return nil, nil
	}
	val, err := v.l.c.HGet(v.ctx, keyPrefix(v.account)+sfxLog, field).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("cannot read kept results of "+v.account, err)
	}
	for _, r := range decodeResults(log, val) {
		if r.Pos == pos {
			return &r.Result, nil
		}
	}
	return nil, nil
}

func (v *view) LegacyHit(op *storage.Op) (bool, *storage.Result, error) {
	return v.l.legacyHit(v.ctx, op)
}

func (v *view) Order(key string) (*decide.Order, error) {
	raw := v.raw(orderKey(key), "", kindToken)
	if raw == "" {
		return nil, nil
	}
	o, err := decodeOrderValue(raw)
	if err != nil {
		return nil, fmt.Errorf("order %q of %s: %w", key, v.account, err)
	}
	return o, nil
}

func (v *view) Attendee(id string) (*decide.Attendee, error) {
	raw := v.raw(attendeeKey(id), "r", kindToken)
	if raw == "" {
		v.absent[id] = true
		return nil, nil
	}
	_, a, err := decodeAttendeeValue(raw)
	if err != nil {
		return nil, fmt.Errorf("attendee %q of %s: %w", id, v.account, err)
	}
	return a, nil
}

func (v *view) CookieLink(cookie string) (string, error) {
	return v.raw(sfxCookies, cookie, kindExact), nil
}

func (v *view) Registration(w, id string) (*decide.Registration, error) {
	if v.absent[id] {
		// An attendee without a record has no registration: registering
		// writes the record in the same step, and erasing removes both.
		return nil, nil
	}
	raw := v.raw(registrantsKey(w), id, kindExact)
	if raw == "" {
		return nil, nil
	}
	ns, email, ok := strings.Cut(raw, ":")
	at, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return nil, fmt.Errorf("registrant %q of webinar %q of %s: bad record %q", id, w, v.account, raw)
	}
	return &decide.Registration{At: at, Email: email}, nil
}

func (v *view) TagMembers(tag string) ([]string, error) {
	return v.l.tagMembers(v.ctx, v.account, v.st, tag)
}

func (v *view) Tombstone(id string) (int64, bool, error) {
	v.st.mu.Lock()
	at, ok := v.st.tombs[id]
	v.st.mu.Unlock()
	return at, ok, nil
}

func (v *view) Click(id string) (*storage.ClickRec, error) {
	ck := cacheKey(v.account, clickKey(id), "")
	raw, ok := v.checked[ck]
	if !ok {
		if raw, ok = v.pre[ck]; !ok {
			raw, _ = v.l.cache.get(clickCacheKey(v.account, v.st.ep, id))
		}
		v.checked[ck] = raw
		v.clickIDs[ck] = id
		v.req.check(checkRef{key: clickKey(id), kind: kindPresence}, kindPresence.want(raw))
	}
	if raw == "" {
		return nil, nil
	}
	var c storage.ClickRec
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("click %q of %s: %w", id, v.account, err)
	}
	return &c, nil
}

func (v *view) Conversion(key string) (*storage.ConvRec, error) {
	raw := v.raw(convKey(key), "", kindToken)
	if raw == "" {
		return nil, nil
	}
	var c storage.ConvRec
	if len(raw) < tokenLen || json.Unmarshal([]byte(raw[tokenLen:]), &c) != nil {
		return nil, fmt.Errorf("conversion %q of %s: bad record", key, v.account)
	}
	return &c, nil
}

// Profile: the attendee's field pv says whether it has one and which
// version; its fields are read when the node has not got that version.
func (v *view) Profile(id string) (map[string]string, error) {
	tok := v.raw(attendeeKey(id), "pv", kindToken)
	if tok == "" {
		return nil, nil
	}
	if fields, ok := v.cachedProfile(id, tok); ok {
		return fields, nil
	}
	fields, err := v.l.c.HGetAll(v.ctx, keyPrefix(v.account)+profileKey(id)).Result()
	if err != nil {
		return nil, wrap("cannot read profile of "+v.account, err)
	}
	b, _ := json.Marshal(fields) // strings: cannot fail
	v.l.cache.put(profileCacheKey(v.account, id, tok), string(b))
	return fields, nil
}

// cachedProfile is the profile of the version tok the node holds.
func (v *view) cachedProfile(id, tok string) (map[string]string, bool) {
	raw, ok := v.l.cache.get(profileCacheKey(v.account, id, tok))
	var fields map[string]string
	if !ok || json.Unmarshal([]byte(raw), &fields) != nil {
		return nil, false
	}
	if fields == nil {
		fields = map[string]string{}
	}
	return fields, true
}

func (v *view) Config(kind, id string) ([]byte, error) {
	if kind != storage.ConfigCampaign {
		return nil, fmt.Errorf("the rules read no %s documents", kind)
	}
	return v.l.campaign(v.ctx, v.account, v.st, id)
}

func (v *view) Webinar(id string) (*decide.Webinar, error) {
	raw := v.raw(sfxWebinars, id, kindExact)
	if raw == "" {
		return nil, nil
	}
	var rec webinarRec
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return nil, fmt.Errorf("cannot decode webinar %q of %s: %w", id, v.account, err)
	}
	return &decide.Webinar{Name: rec.Name, Tags: rec.Tags}, nil
}

// The reads of an erasure come from what readErasure read ahead.

func (v *view) Webinars() ([]string, error) {
	return v.erasure.webinars, nil
}

func (v *view) OrderList(id string) ([]decide.ListedOrder, error) {
	var out []decide.ListedOrder
	for _, f := range v.erasure.orders {
		keyHex, fs, ok := orderListEntry(f)
		if !ok {
			continue
		}
		e := decide.ListedOrder{FirstSeen: fs}
		if live := v.raw("o:"+keyHex, "", kindToken); live != "" {
			o, err := decodeOrderValue(live)
			if err != nil {
				return nil, err
			}
			e.Key = o.Key
		}
		if arch := v.raw(archivedKey(keyHex, strconv.FormatInt(fs, 10)), "", kindPresence); arch != "" {
			o, err := decide.DecodeOrder([]byte(arch))
			if err != nil {
				return nil, err
			}
			e.Key, e.Archived = o.Key, o
		}
		if e.Key == "" {
			continue // neither the live order nor its copy: nothing left of it
		}
		out = append(out, e)
	}
	return out, nil
}

func (v *view) LinkedCookies(id string) ([]string, error) {
	cookies := v.erasure.cookies
	for _, c := range cookies {
		v.raw(sfxCookies, c, kindExact)
	}
	return cookies, nil
}

func (v *view) TiedClicks(id string) ([]decide.TiedClick, error) {
	var out []decide.TiedClick
	for _, m := range v.erasure.ties {
		t := decide.TiedClick{Ref: hx(m), ID: m}
		if legacyTie(m) {
			t = decide.TiedClick{Ref: m} // an earlier build kept the click's h
		}
		if raw := v.raw("k:"+t.Ref, "", kindPresence); raw != "" {
			var c storage.ClickRec
			if err := json.Unmarshal([]byte(raw), &c); err != nil {
				return nil, fmt.Errorf("click of %s: %w", v.account, err)
			}
			t.Rec = &c
		}
		out = append(out, t)
	}
	return out, nil
}

func (v *view) RetainedResults() ([]decide.Retained, error) {
	var out []decide.Retained
	for _, f := range v.erasure.blobs {
		log, _, _ := strings.Cut(f, ":")
		out = append(out, decodeResults(log, v.raw(sfxLog, f, kindExact))...)
	}
	return out, nil
}

// legacyTie reports whether a member of an attendee's ties is the h of a
// click (40 hex digits, as an earlier build wrote it) rather than its id
// (26 characters).
func legacyTie(m string) bool {
	if len(m) != 40 {
		return false
	}
	for _, c := range m {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Values.

// decodeOrderValue decodes an order: its token, then decide.AppendOrder.
func decodeOrderValue(raw string) (*decide.Order, error) {
	if len(raw) < tokenLen {
		return nil, decide.ErrCorrupt
	}
	return decide.DecodeOrder([]byte(raw[tokenLen:]))
}

// attendeeValue is an attendee's r: token, its id unless its email gives
// it (attribution.EmailAttendeeID), decide.AppendAttendee. It stays short
// so that the attendee's hash stays a listpack (hash-max-listpack-value,
// 64 bytes by default): an email attendee with an order or two in one
// currency takes about 45 bytes.
func attendeeValue(tok, id string, a *decide.Attendee) string {
	b := make([]byte, 0, 64)
	b = append(b, tok...)
	if a.Email != "" {
		id = "" // an attendee with an email is the email's (decide's identify)
	}
	b = binenc.AppendString(b, id)
	return string(decide.AppendAttendee(b, a))
}

func decodeAttendeeValue(raw string) (string, *decide.Attendee, error) {
	if len(raw) < tokenLen+1 {
		return "", nil, decide.ErrCorrupt
	}
	b := []byte(raw[tokenLen:])
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", nil, decide.ErrCorrupt
	}
	id := string(b[w : w+int(n)])
	a, err := decide.DecodeAttendee(b[w+int(n):])
	return id, a, err
}

// attendeeID is the id of an attendee read by decodeAttendeeValue.
func attendeeID(id string, a *decide.Attendee) string {
	if id == "" {
		return attribution.EmailAttendeeID(a.Email)
	}
	return id
}

// orderListField is an attendee's field for an order of its list.
func orderListField(key string, firstSeen int64) string {
	sum := sha1Raw(key)
	return orderListFieldRaw(sum[:], firstSeen)
}

// orderListFieldRaw is orderListField from the order key's SHA-1.
func orderListFieldRaw(sha []byte, firstSeen int64) string {
	b := make([]byte, 0, 29)
	b = append(append(b, 'o'), sha...)
	return string(binary.BigEndian.AppendUint64(b, uint64(firstSeen)))
}

// orderListEntry reads such a field: the order key's h and first seen.
func orderListEntry(f string) (keyHex string, firstSeen int64, ok bool) {
	if len(f) != 29 || f[0] != 'o' {
		return "", 0, false
	}
	return hexOf(f[1:21]), int64(binary.BigEndian.Uint64([]byte(f[21:]))), true
}
