package redisledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// learned is what the node's cache learns once a commit is written.
type learned struct {
	puts    []cached          // cache key and raw value after, in the order written (the last of a key wins)
	clicks  map[string]string // click id -> raw record after
	listed  []string
	added   map[string][]blob // batches of results kept, by log
	removed map[string]bool   // fields of batches dropped
	epMoved bool
}

// cached is a record's raw value under its cache key.
type cached struct{ key, raw string }

func (lr *learned) put(key, raw string) { lr.puts = append(lr.puts, cached{key, raw}) }

// newToken is a record's new version token.
func newToken() string {
	return string(appendToken(nil))
}

// appendToken appends a new version token to b: a record's value is built
// in one buffer, token first.
func appendToken(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(b, rand.Uint64())
}

// writes turns the decided changes into the commit's writes (after the
// view's checks) and returns what the cache learns once they are made.
func (v *view) writes(ch *decide.Changes) *learned {
	r := v.req
	lr := &learned{puts: make([]cached, 0, 2*len(ch.Orders)+len(ch.Attendees)), clicks: map[string]string{},
		added: map[string][]blob{}, removed: map[string]bool{}}
	put := func(key, field, raw string) { lr.put(cacheKey(v.account, key, field), raw) }

	for id, w := range ch.Webinars {
		rec, _ := json.Marshal(webinarRec{Name: w.Name, Tags: w.Tags}) // strings: cannot fail
		r.write("HSET", sfxWebinars, id, string(rec))
		lr.epMoved = true
	}
	for _, e := range sortedTags(ch.Tags) {
		if ch.Tags[e] {
			r.write("ZADD", tagKey(e.Tag), "0", e.Webinar)
		} else {
			r.write("ZREM", tagKey(e.Tag), e.Webinar)
		}
		lr.epMoved = true
	}
	v.st.mu.Lock()
	for _, w := range ch.Listed {
		if !v.st.listed[w] {
			r.write("HSETNX", sfxWebinars, w, "")
			lr.listed = append(lr.listed, w)
		}
	}
	v.st.mu.Unlock()

	for key, o := range ch.Orders {
		k := orderKey(key)
		if o == nil {
			r.write("DEL", k)
			put(k, "", "")
			continue
		}
		raw := string(decide.AppendOrder(appendToken(make([]byte, 0, 128)), o)) // an order takes about 80 bytes
		r.write("SET", k, raw)
		put(k, "", raw)
	}
	for _, a := range ch.Archived {
		r.write("SET", archivedKey(hx(a.Order.Key), strconv.FormatInt(a.Order.FirstSeen, 10)), string(decide.AppendOrder(nil, &a.Order)))
	}
	for id, c := range ch.Attendees {
		k := attendeeKey(id)
		if c.Rec == nil { // erased
			r.write("DEL", k)
			r.write("DEL", profileKey(id))
			for _, e := range c.DroppedOrders {
				if e.Archived != nil {
					r.write("DEL", archivedKey(hx(e.Key), strconv.FormatInt(e.FirstSeen, 10)))
				}
			}
			put(k, "r", "")
			put(k, "pv", "")
			continue
		}
		raw := attendeeValue(newToken(), id, c.Rec)
		args := []string{"HSET", k, "r", raw}
		for _, e := range c.NewOrders {
			args = append(args, orderListField(e.Key, e.FirstSeen), "")
		}
		r.write(args...)
		put(k, "r", raw)
	}
	for cookie, id := range ch.Cookies {
		if id == "" {
			r.write("HDEL", sfxCookies, cookie)
		} else {
			r.write("HSET", sfxCookies, cookie, id)
		}
		put(sfxCookies, cookie, id)
	}
	for k, reg := range ch.Registrations {
		key := registrantsKey(k.Webinar)
		if reg == nil {
			r.write("HDEL", key, k.Attendee)
			put(key, k.Attendee, "")
			continue
		}
		val := strconv.FormatInt(reg.At, 10) + ":" + reg.Email
		r.write("HSET", key, k.Attendee, val)
		put(key, k.Attendee, val)
	}
	for w, d := range ch.Stats {
		k := statsKey(w)
		for _, f := range [...]struct {
			name string
			n    int64
		}{{"reg", d.Registrants}, {"conv", d.Converted}, {"creg", d.ConvertedRegistrants}, {"sales", d.Sales}} {
			if f.n != 0 {
				r.write("HINCRBY", k, f.name, strconv.FormatInt(f.n, 10))
			}
		}
		for _, cur := range slices.Sorted(maps.Keys(d.Revenue)) {
			if n := d.Revenue[cur]; n != 0 {
				r.write("HINCRZ", k, "r:"+cur, strconv.FormatInt(int64(n), 10))
			}
		}
	}
	v.clickWrites(ch, lr)
	v.profileWrites(ch, lr)
	for id, at := range ch.Tombstones {
		r.write("HSET", sfxErased, id, strconv.FormatInt(at, 10))
		lr.epMoved = true
	}
	v.logWrites(ch, lr)
	if lr.epMoved {
		r.write("HSET", sfxAccount, "ep", newToken())
	}
	return lr
}

func (v *view) clickWrites(ch *decide.Changes, lr *learned) {
	r := v.req
	for id, c := range ch.Clicks {
		rec, _ := json.Marshal(c.Rec) // strings and maps of strings: cannot fail
		if c.KeepTTL {
			r.write("SET", clickKey(id), string(rec), "KEEPTTL")
		} else {
			r.write("SET", clickKey(id), string(rec), "EX", strconv.FormatInt(int64(c.TTL.Seconds()), 10))
		}
		lr.clicks[id] = string(rec)
	}
	for _, s := range ch.Stripped {
		rec, _ := json.Marshal(s.Rec)
		r.write("SET", "k:"+s.Ref, string(rec), "KEEPTTL")
		lr.epMoved = true // the clicks the node holds may be these
	}
	for key, c := range ch.Conversions {
		k := convKey(key)
		rec, _ := json.Marshal(c.Rec)
		raw := newToken() + string(rec)
		if c.New {
			r.write("SET", k, raw)
			// It goes with its click: once the click expires no postback
			// reaches it.
			r.write("KEEPAS", k, clickKey(c.ClickID))
		} else {
			r.write("SET", k, raw, "KEEPTTL")
		}
		lr.put(cacheKey(v.account, k, ""), raw)
	}
	for _, t := range ch.Ties {
		k := tiesKey(t.Attendee)
		r.write("SADD", k, t.ClickID)
		r.write("KEEPAS", k, clickKey(t.ClickID))
	}
}

func (v *view) profileWrites(ch *decide.Changes, lr *learned) {
	r := v.req
	for id, c := range ch.Profiles {
		if c.Deleted {
			r.write("DEL", profileKey(id))
			continue
		}
		if len(c.Set) > 0 {
			args := []string{"HSET", profileKey(id)}
			for _, f := range slices.Sorted(maps.Keys(c.Set)) {
				args = append(args, f, c.Set[f])
			}
			r.write(args...)
		}
		tok := newToken()
		r.write("HSET", attendeeKey(id), "pv", tok)
		lr.put(cacheKey(v.account, attendeeKey(id), "pv"), tok)
		fields := map[string]string{}
		if !c.Created {
			prev, _ := v.cachedProfile(id, v.checked[cacheKey(v.account, attendeeKey(id), "pv")])
			maps.Copy(fields, prev)
		}
		maps.Copy(fields, c.Set)
		b, _ := json.Marshal(fields) // strings: cannot fail
		lr.put(profileCacheKey(v.account, id, tok), string(b))
	}
}

// logWrites writes the marks and the batch's results kept for replays
// (one field per log), and drops the batches the applier's cursor passed
// and the results an erasure scrubbed.
func (v *view) logWrites(ch *decide.Changes, lr *learned) {
	r := v.req
	for log, pos := range ch.Marks {
		r.write("HSET", sfxLog, log, pos16(pos))
		lr.put(cacheKey(v.account, sfxLog, log), pos16(pos))
	}
	byLog := map[string][]decide.Retained{}
	for _, k := range ch.Retain {
		if k.Pos > ch.Forget[k.Log] {
			byLog[k.Log] = append(byLog[k.Log], k)
		}
	}
	for log, kept := range byLog {
		last := kept[len(kept)-1].Pos
		f := blobField(log, last)
		r.write("HSET", sfxLog, f, encodeResults(kept))
		lr.added[log] = append(lr.added[log], blob{field: f, last: last})
	}
	for log, upTo := range ch.Forget {
		for _, b := range v.lg.blobsOf(log) {
			if b.last <= upTo {
				r.write("HDEL", sfxLog, b.field)
				lr.removed[b.field] = true
			}
		}
	}
	if len(ch.Scrubbed) == 0 {
		return
	}
	type place struct {
		log string
		pos uint64
	}
	gone := map[place]bool{}
	for _, s := range ch.Scrubbed {
		gone[place{s.Log, s.Pos}] = true
	}
	for _, f := range v.erasure.blobs {
		log, _, _ := strings.Cut(f, ":")
		all := decodeResults(log, v.checked[cacheKey(v.account, sfxLog, f)])
		left := all[:0]
		for _, k := range all {
			if !gone[place{k.Log, k.Pos}] {
				left = append(left, k)
			}
		}
		switch {
		case len(left) == len(all):
		case len(left) == 0:
			r.write("HDEL", sfxLog, f)
			lr.removed[f] = true
		default:
			r.write("HSET", sfxLog, f, encodeResults(left))
		}
	}
}

// encodeResults is a batch's kept results, compactly (they are written
// with every batch): for each, its position after the previous one
// (uvarint), then its result (appendResult).
func encodeResults(kept []decide.Retained) string {
	var b []byte
	var prev uint64
	for i := range kept {
		b = binary.AppendUvarint(b, kept[i].Pos-prev)
		prev = kept[i].Pos
		b = appendResult(b, &kept[i].Result)
	}
	return string(b)
}

func decodeResults(log, raw string) []decide.Retained {
	var out []decide.Retained
	d := binenc.NewDecoder([]byte(raw), decide.ErrCorrupt)
	var pos uint64
	for d.Len() > 0 && d.Err() == nil {
		pos += d.Uvarint()
		res := decodeResult(d)
		if d.Err() != nil {
			break
		}
		out = append(out, decide.Retained{Log: log, Pos: pos, Result: res})
	}
	return out
}

// statuses are coded by their index.
var statuses = [...]storage.Status{storage.StatusAccepted, storage.StatusUpdated, storage.StatusDuplicate,
	storage.StatusRejected, storage.StatusQueued}

// appendResult encodes a result: its status's index, reason, delta, the
// attendee (an email attendee's 12 bytes of hash rather than 26
// characters), credited webinars and the conversion (JSON), if any.
func appendResult(b []byte, r *storage.Result) []byte {
	code := byte(len(statuses))
	for i, s := range statuses {
		if s == r.Status {
			code = byte(i)
		}
	}
	b = append(b, code)
	if code == byte(len(statuses)) {
		b = binenc.AppendString(b, string(r.Status))
	}
	b = binenc.AppendString(b, r.Reason)
	b = binary.AppendVarint(b, int64(r.Delta))
	if raw, ok := emailIDBytes(r.AttendeeID); ok {
		b = append(append(b, 1), raw[:]...)
	} else {
		b = binenc.AppendString(append(b, 0), r.AttendeeID)
	}
	b = binenc.AppendStrings(b, r.Credited)
	var conv []byte
	if r.Conversion != nil {
		conv, _ = json.Marshal(r.Conversion) // strings, maps and numbers: cannot fail
	}
	return binenc.AppendString(b, string(conv))
}

func decodeResult(d *binenc.Decoder) storage.Result {
	var r storage.Result
	code := d.Uvarint()
	if code < uint64(len(statuses)) {
		r.Status = statuses[code]
	} else {
		r.Status = storage.Status(d.String())
	}
	r.Reason = d.String()
	r.Delta = attribution.Micros(d.Varint())
	if d.Uvarint() == 1 {
		r.AttendeeID = emailID(d.Bytes(12))
	} else {
		r.AttendeeID = d.String()
	}
	r.Credited = d.Strings()
	if conv := d.String(); conv != "" {
		r.Conversion = &storage.Conversion{}
		if json.Unmarshal([]byte(conv), r.Conversion) != nil {
			r.Conversion = nil
		}
	}
	return r
}

// emailIDBytes are the 12 bytes an email attendee id ("e_" and 24 hex
// digits, attribution.EmailAttendeeID) stands for.
func emailIDBytes(id string) (raw [12]byte, ok bool) {
	if len(id) != 26 || !strings.HasPrefix(id, "e_") {
		return raw, false
	}
	for i := range raw {
		hi, ok1 := lowerHexDigit(id[2+2*i])
		lo, ok2 := lowerHexDigit(id[3+2*i])
		if !ok1 || !ok2 {
			return raw, false // upper-case digits: not one we made
		}
		raw[i] = hi<<4 | lo
	}
	return raw, true
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func emailID(raw []byte) string { return "e_" + hex.EncodeToString(raw) }

// sortedTags orders tag index changes (deterministic commands).
func sortedTags(m map[decide.TagEntry]bool) []decide.TagEntry {
	out := slices.Collect(maps.Keys(m))
	slices.SortFunc(out, func(a, b decide.TagEntry) int {
		if a.Tag != b.Tag {
			if a.Tag < b.Tag {
				return -1
			}
			return 1
		}
		switch {
		case a.Webinar < b.Webinar:
			return -1
		case a.Webinar > b.Webinar:
			return 1
		}
		return 0
	})
	return out
}
