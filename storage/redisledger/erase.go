package redisledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// cookieScanCount is how many cookie links one HSCAN step reads.
const cookieScanCount = 1000

// EraseAttendee erases the attendee of email (storage.Ledger), with
// decide's Erase, in two commits. The first sets the tombstone and moves
// the account's epoch: from then on every op of the attendee dated up to
// the erasure is refused, on every node (their next commit finds the
// epoch moved, reads the tombstones, and decides again). The second reads
// everything of the attendee (its record, orders, registrations, the
// cookies linked to it, found with HSCAN in steps rather than in one long
// script, the clicks it converted, the results kept for replays) and
// erases it, again while any of it changes meanwhile.
func (l *Ledger) EraseAttendee(ctx context.Context, account, email string, at time.Time) (storage.Erasure, error) {
	if !keyable(account) {
		return storage.Erasure{}, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	id := attribution.EmailAttendeeID(email)
	err := l.retry(ctx, account, func(v *view) (*decide.Changes, error) {
		prev, err := l.c.HGet(ctx, keyPrefix(account)+sfxErased, id).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("cannot read tombstone", err)
		}
		v.pre = map[string]string{cacheKey(account, sfxErased, id): prev}
		cur := v.raw(sfxErased, id, kindExact)
		old, had := int64(0), cur != ""
		if had {
			if old, err = strconv.ParseInt(cur, 10, 64); err != nil {
				return nil, fmt.Errorf("tombstone of %s: bad time %q", account, cur)
			}
		}
		ch := &decide.Changes{Tombstones: map[string]int64{id: decide.LaterTombstone(old, had, at.UnixNano())}}
		return ch, nil
	})
	if err != nil {
		return storage.Erasure{AttendeeID: id}, fmt.Errorf("cannot erase attendee of %s: %w", account, err)
	}
	var er storage.Erasure
	err = l.retry(ctx, account, func(v *view) (*decide.Changes, error) {
		if err := l.readErasure(ctx, v, id); err != nil {
			return nil, err
		}
		d := decide.New(v)
		var err error
		er, err = d.Erase(email, at)
		return d.Changes(), err
	})
	if err != nil {
		return storage.Erasure{AttendeeID: id}, fmt.Errorf("cannot erase attendee of %s: %w", account, err)
	}
	return er, nil
}

// readErasure reads ahead everything decide's Erase reads of attendee id
// into v.pre: its record and order list, the orders and their copies, the
// account's webinars and the attendee's registrations, the cookies linked
// to it, the clicks it converted, and the account's kept results.
func (l *Ledger) readErasure(ctx context.Context, v *view, id string) error {
	p, account := keyPrefix(v.account), v.account
	pre := map[string]string{}
	set := func(key, field, val string) { pre[cacheKey(account, key, field)] = val }
	var rec, logs *redis.MapStringStringCmd
	var webinars, ties *redis.StringSliceCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		rec = pipe.HGetAll(ctx, p+attendeeKey(id))
		webinars = pipe.HKeys(ctx, p+sfxWebinars)
		ties = pipe.SMembers(ctx, p+tiesKey(id))
		logs = pipe.HGetAll(ctx, p+sfxLog)
		return nil
	})
	if err != nil {
		return wrap("cannot read attendee of "+account, err)
	}
	set(attendeeKey(id), "r", rec.Val()["r"])
	er := &erasureRead{webinars: webinars.Val(), ties: ties.Val()}
	for f := range rec.Val() {
		if _, _, ok := orderListEntry(f); ok {
			er.orders = append(er.orders, f)
		}
	}
	for f, val := range logs.Val() {
		if strings.Contains(f, ":") {
			er.blobs = append(er.blobs, f)
			set(sfxLog, f, val)
		}
	}
	entries := er.orders

	var gets []*redis.StringCmd
	var names [][2]string
	_, err = l.c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		get := func(key, field string) {
			names = append(names, [2]string{key, field})
			if field == "" {
				gets = append(gets, pipe.Get(ctx, p+key))
			} else {
				gets = append(gets, pipe.HGet(ctx, p+key, field))
			}
		}
		for _, f := range entries {
			keyHex, fs, _ := orderListEntry(f)
			get("o:"+keyHex, "")
			get(archivedKey(keyHex, strconv.FormatInt(fs, 10)), "")
		}
		for _, w := range webinars.Val() {
			get(registrantsKey(w), id)
		}
		for _, m := range ties.Val() {
			if legacyTie(m) {
				get("k:"+m, "")
			} else {
				get(clickKey(m), "")
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap("cannot read attendee of "+account, err)
	}
	for i, g := range gets {
		set(names[i][0], names[i][1], g.Val())
	}

	iter := l.c.HScan(ctx, p+sfxCookies, 0, "", cookieScanCount).Iterator()
	for iter.Next(ctx) {
		cookie := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		if iter.Val() == id {
			er.cookies = append(er.cookies, cookie)
			set(sfxCookies, cookie, id)
		}
	}
	if err := iter.Err(); err != nil {
		return wrap("cannot read cookies of "+account, err)
	}
	v.pre, v.erasure = pre, er
	return nil
}

// Erased returns the account's tombstones (storage.Ledger).
func (l *Ledger) Erased(ctx context.Context, account string) (map[string]time.Time, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	all, err := l.c.HGetAll(ctx, keyPrefix(account)+sfxErased).Result()
	if err != nil {
		return nil, wrap("cannot read erasures of "+account, err)
	}
	out := make(map[string]time.Time, len(all))
	for id, ns := range all {
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("erasure of %s in %s: bad time %q", id, account, ns)
		}
		out[id] = time.Unix(0, n).UTC()
	}
	return out, nil
}
