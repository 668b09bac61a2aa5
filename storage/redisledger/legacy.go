package redisledger

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// legacyHit looks a hit id up where an earlier build remembered the hits
// it applied (storage.Op.CheckHitID): pp:{A}:hb:<hour of the op's time>
// (ids) and rb:<hour> (their results as the old script's reply, JSON), or,
// for an op older than pp:{A}:hb-since, the single keys h:<h> and hr:<h>
// of the build before. They expire on their own (35 days for ids, 24 hours
// for results).
func (l *Ledger) legacyHit(ctx context.Context, op *storage.Op) (bool, *storage.Result, error) {
	p := keyPrefix(op.Account)
	ns := op.Time.UnixNano()
	hour := strconv.FormatInt(floorDiv(ns/1e9, 3600), 10)
	var seen *redis.BoolCmd
	var orig, since *redis.StringCmd
	_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		seen = pipe.HExists(ctx, p+"hb:"+hour, op.HitID)
		orig = pipe.HGet(ctx, p+"rb:"+hour, op.HitID)
		since = pipe.Get(ctx, p+"hb-since")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, nil, wrap("cannot look up hit ids of an earlier build", err)
	}
	if seen.Val() {
		return true, legacyResult(orig.Val()), nil
	}
	if s, err := strconv.ParseInt(since.Val(), 10, 64); err == nil && s > ns {
		h := hx(op.HitID)
		var exists *redis.IntCmd
		_, err := l.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			exists = pipe.Exists(ctx, p+"h:"+h)
			orig = pipe.Get(ctx, p+"hr:"+h)
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return false, nil, wrap("cannot look up hit ids of an earlier build", err)
		}
		if exists.Val() == 1 {
			return true, legacyResult(orig.Val()), nil
		}
	}
	return false, nil, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// legacyResult decodes the old script's reply kept for a hit: {status,
// reason, delta, attendee id, credited...}, or for a postback {status,
// reason, delta, attendee id, "#conv", click JSON, previous status,
// previous value, value}. nil when there is none or it does not decode.
func legacyResult(raw string) *storage.Result {
	var list []string
	if raw == "" || json.Unmarshal([]byte(raw), &list) != nil || len(list) < 4 {
		return nil
	}
	delta, err := strconv.ParseInt(list[2], 10, 64)
	if err != nil {
		return nil
	}
	r := &storage.Result{Status: storage.Status(list[0]), Reason: list[1], Delta: attribution.Micros(delta), AttendeeID: list[3]}
	if len(list) == 9 && list[4] == "#conv" {
		var click storage.ClickRec
		prev, err1 := strconv.ParseInt(list[7], 10, 64)
		value, err2 := strconv.ParseInt(list[8], 10, 64)
		if json.Unmarshal([]byte(list[5]), &click) != nil || err1 != nil || err2 != nil {
			return nil
		}
		r.Conversion = &storage.Conversion{CampaignID: click.CampaignID, Macros: click.Macros,
			PrevStatus: list[6], PrevValue: attribution.Micros(prev), Value: attribution.Micros(value)}
		return r
	}
	if len(list) > 4 {
		r.Credited = list[4:]
	}
	return r
}
