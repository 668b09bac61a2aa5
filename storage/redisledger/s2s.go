package redisledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// convMarker tags a postback's reply: {status, reason, delta, "",
// "#conv", click record JSON, previous status, previous value, value}. No
// webinar id contains '#', so it cannot be a credited list.
const convMarker = "#conv"

// s2sArgs is ARGV of apply.lua for clicks and postbacks (see the S2S
// section of the script).
func s2sArgs(args []any, op *storage.Op, ttl string) []any {
	kind := "k"
	if op.Kind == storage.OpPostback {
		kind = "p"
	}
	args = append(args, kind, op.HitID, ttl, strconv.FormatInt(op.Time.UnixNano(), 10), hx(op.ClickID))
	if op.Kind == storage.OpClick {
		rec, _ := json.Marshal(storage.NewClickRec(op)) // strings and maps of strings: cannot fail
		keep := int64((op.ClickTTL + storage.ClickGrace).Seconds())
		return append(args, rec, strconv.FormatInt(keep, 10))
	}
	has := "0"
	if op.HasAmount {
		has = "1"
	}
	pixel := "0"
	if op.Source == storage.SourcePixel {
		pixel = "1"
	}
	emailID, emailHex, cookieHex := attendeeArgs(op)
	return append(args, hx(storage.ConvKey(op.ClickID, op.TxID, op.Goal)), op.ConvStatus, op.RawStatus,
		has, strconv.FormatInt(int64(op.Amount), 10), op.Currency, op.Goal, op.TxID, op.NetworkID, pixel,
		emailID, emailHex, op.CookieID, cookieHex, op.ClickID)
}

// decodeConversion reads the conversion part of a postback's reply.
func decodeConversion(r *storage.Result, s []string) error {
	var click storage.ClickRec
	if err := json.Unmarshal([]byte(s[0]), &click); err != nil {
		return fmt.Errorf("bad click record in reply: %w", err)
	}
	prev, err1 := strconv.ParseInt(s[2], 10, 64)
	value, err2 := strconv.ParseInt(s[3], 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad conversion values %q, %q", s[2], s[3])
	}
	r.Conversion = &storage.Conversion{CampaignID: click.CampaignID, Macros: click.Macros,
		PrevStatus: s[1], PrevValue: attribution.Micros(prev), Value: attribution.Micros(value)}
	return nil
}

// completeConversion fills in what the op already says.
func completeConversion(r *storage.Result, op *storage.Op) {
	c := r.Conversion
	if c == nil {
		return
	}
	c.ClickID, c.Goal, c.TxID, c.Status, c.Currency = op.ClickID, op.Goal, op.TxID, op.ConvStatus, op.Currency
	if c.PrevStatus == "" {
		c.PrevValue = 0
	}
}

// Profile returns an attendee's profile fields (pp:{account}:prof:<h>).
func (l *Ledger) Profile(ctx context.Context, account, attendeeID string) (map[string]string, error) {
	if !keyable(account) {
		return nil, fmt.Errorf("account %q: %w", account, storage.ErrNotFound)
	}
	prof, err := l.c.HGetAll(ctx, keyPrefix(account)+"prof:"+hx(attendeeID)).Result()
	if err != nil {
		return nil, wrap("cannot read profile", err)
	}
	return prof, nil
}
