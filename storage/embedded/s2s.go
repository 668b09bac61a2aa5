package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
)

// Clicks live in accounts/<account>/clicks/<click id> and conversions in
// accounts/<account>/convs/<conversion key>, as JSON (storage.ClickRec,
// storage.ConvRec). A click is kept for its window and storage.ClickGrace
// (a late postback is told expired_click), then dropped with its
// conversions, which no postback can reach any more (pruneClicks): the
// Redis ledger expires them alike.
var (
	bucketClicks   = []byte("clicks")
	bucketConvs    = []byte("convs")
	bucketProfiles = []byte("profiles")
	// attclicks/ lp(attendee) click id -> "": the clicks an attendee
	// converted (conversion pixel), whose macros its erasure strips; and
	// clickatts/ lp(click id) attendee -> "", the same ties by click, so
	// that they go when the click is dropped (pruneClicks). An erasure
	// keeps them: the same erasure sent again finds the clicks again.
	bucketAttClicks = []byte("attclicks")
	bucketClickAtts = []byte("clickatts")
)

// click records a click; applying the same click again rewrites the same
// record.
func (a *acctTxn) click(op *storage.Op) (storage.Result, error) {
	b, err := a.root.CreateBucketIfNotExists(bucketClicks)
	if err != nil {
		return storage.Result{}, err
	}
	v, err := json.Marshal(storage.NewClickRec(op))
	if err != nil {
		return storage.Result{}, err
	}
	return storage.Result{Status: storage.StatusAccepted}, b.Put([]byte(op.ClickID), v)
}

// postback applies storage.DecidePostback to the click's conversion; a
// conversion the op's attendee (id, "" for none) reached ties the click to
// that attendee (storage.Result.AttendeeID).
func (a *acctTxn) postback(op *storage.Op, id string) (storage.Result, error) {
	var click storage.ClickRec
	cb := a.root.Bucket(bucketClicks)
	v := []byte(nil)
	if cb != nil {
		v = cb.Get([]byte(op.ClickID))
	}
	if v == nil {
		return storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonUnknownClick}, nil
	}
	if err := json.Unmarshal(v, &click); err != nil {
		return storage.Result{}, err
	}
	if click.Access == nil {
		// Recorded by an earlier build: its campaign's current document
		// says who may convert it (none when the campaign is gone).
		click.Access = storage.CampaignAccess(a.config(storage.ConfigCampaign, click.CampaignID))
	}
	convs, err := a.root.CreateBucketIfNotExists(bucketConvs)
	if err != nil {
		return storage.Result{}, err
	}
	key := []byte(storage.ConvKey(op.ClickID, op.TxID, op.Goal))
	var prev *storage.ConvRec
	if pv := convs.Get(key); pv != nil {
		prev = &storage.ConvRec{}
		if err := json.Unmarshal(pv, prev); err != nil {
			return storage.Result{}, err
		}
	}
	res, next := storage.DecidePostback(op, &click, prev)
	if res.Conversion != nil && id != "" {
		res.AttendeeID = id
		if err := tie(a.root, id, op.ClickID); err != nil {
			return storage.Result{}, err
		}
	}
	if next != nil {
		nv, err := json.Marshal(next)
		if err != nil {
			return storage.Result{}, err
		}
		if err := convs.Put(key, nv); err != nil {
			return storage.Result{}, err
		}
	}
	return res, nil
}

// config returns a configuration document of the account, nil when none.
func (a *acctTxn) config(kind, id string) []byte {
	cfg := a.root.Bucket(bucketConfig)
	if cfg == nil {
		return nil
	}
	if b := cfg.Bucket([]byte(kind)); b != nil {
		return b.Get([]byte(id))
	}
	return nil
}

// lead merges the op's profile fields into the attendee's profile.
func (a *acctTxn) lead(op *storage.Op, id string) (storage.Result, error) {
	isNew, changed, err := a.mergeProfile(id, op.Profile)
	switch {
	case err != nil:
		return storage.Result{}, err
	case isNew:
		return storage.Result{Status: storage.StatusAccepted, AttendeeID: id}, nil
	case changed:
		return storage.Result{Status: storage.StatusUpdated, AttendeeID: id}, nil
	}
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: id}, nil
}

// mergeProfile merges fields into the attendee's profile: isNew when it
// had none, changed when a field was added or changed.
func (a *acctTxn) mergeProfile(id string, fields map[string]string) (isNew, changed bool, err error) {
	b, err := a.root.CreateBucketIfNotExists(bucketProfiles)
	if err != nil {
		return false, false, err
	}
	prof := map[string]string{}
	v := b.Get([]byte(id))
	if v == nil {
		isNew = true
	} else if err := json.Unmarshal(v, &prof); err != nil {
		return false, false, err
	}
	changed = isNew
	for k, v := range fields {
		// A field sent empty is a value too: kept, as Redis keeps it.
		if old, ok := prof[k]; !ok || old != v {
			prof[k], changed = v, true
		}
	}
	if !changed {
		return isNew, false, nil
	}
	nv, err := json.Marshal(prof)
	if err != nil {
		return false, false, err
	}
	return isNew, true, b.Put([]byte(id), nv)
}

// Profile returns an attendee's profile fields.
func (l *Ledger) Profile(ctx context.Context, account, attendeeID string) (map[string]string, error) {
	prof := map[string]string{}
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		if pb := b.root.Bucket(bucketProfiles); pb != nil {
			if v := pb.Get([]byte(attendeeID)); v != nil {
				return json.Unmarshal(v, &prof)
			}
		}
		return nil
	})
	return prof, err
}

// clickDropDay is the day from which a click may be dropped.
func clickDropDay(expires int64) int64 {
	return dayOf(time.Unix(0, expires).Add(storage.ClickGrace))
}

// indexClick files a click under the day it may be dropped.
func (t *txn) indexClick(op *storage.Op) error {
	days, err := t.tx.CreateBucketIfNotExists(bucketClickDays)
	if err != nil {
		return err
	}
	return indexClickKey(days, clickDropDay(op.Time.Add(op.ClickTTL).UnixNano()), op.Account, op.ClickID)
}

func indexClickKey(days *bolt.Bucket, day int64, account, clickID string) error {
	b, err := days.CreateBucketIfNotExists(dayKey(day))
	if err != nil {
		return err
	}
	return b.Put(pair(account, clickID), empty)
}

// pruneClicks drops, budget at most, the clicks of days a day older than
// the newest op (slack for clocks that differ by node), with their
// conversions. Like hit ids, it follows op times, not the clock.
func (t *txn) pruneClicks(budget int) error {
	days := t.tx.Bucket(bucketClickDays)
	if days == nil {
		return nil
	}
	cutoff := t.newest - 1
	_, err := forgetDays(days, cutoff, budget, func(k, _ []byte) error {
		account, clickID, ok := unpair(k)
		if !ok {
			return nil
		}
		root := t.tx.Bucket(bucketAccounts).Bucket([]byte(account))
		if root == nil {
			return nil
		}
		clicks := root.Bucket(bucketClicks)
		if clicks == nil {
			return nil
		}
		var rec storage.ClickRec
		if v := clicks.Get([]byte(clickID)); v == nil || json.Unmarshal(v, &rec) != nil || clickDropDay(rec.Expires) >= cutoff {
			return nil // gone, or recorded again with a later window: its own entry drops it
		}
		if err := clicks.Delete([]byte(clickID)); err != nil {
			return err
		}
		if err := untie(root, clickID); err != nil {
			return err
		}
		return deletePrefix(root.Bucket(bucketConvs), []byte(clickID+"|")) // storage.ConvKey
	}, nil)
	return err
}

// tie records that attendee id converted clickID, in both directions.
func tie(root *bolt.Bucket, id, clickID string) error {
	byAtt, err := root.CreateBucketIfNotExists(bucketAttClicks)
	if err != nil {
		return err
	}
	byClick, err := root.CreateBucketIfNotExists(bucketClickAtts)
	if err != nil {
		return err
	}
	if err := byAtt.Put(pair(id, clickID), empty); err != nil {
		return err
	}
	return byClick.Put(pair(clickID, id), empty)
}

// untie forgets every tie of a dropped click.
func untie(root *bolt.Bucket, clickID string) error {
	byClick := root.Bucket(bucketClickAtts)
	if byClick == nil {
		return nil
	}
	prefix := lp(nil, clickID)
	var atts []string
	c := byClick.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		atts = append(atts, string(k[len(prefix):]))
	}
	if byAtt := root.Bucket(bucketAttClicks); byAtt != nil {
		for _, id := range atts {
			if err := byAtt.Delete(pair(id, clickID)); err != nil {
				return err
			}
		}
	}
	return deletePrefix(byClick, prefix)
}

// indexTies files every tie by click too: once, for a file whose ties
// were written before clickatts existed.
func indexTies(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyTiesIndexed) != nil {
		return nil
	}
	err := tx.Bucket(bucketAccounts).ForEachBucket(func(account []byte) error {
		root := tx.Bucket(bucketAccounts).Bucket(account)
		byAtt := root.Bucket(bucketAttClicks)
		if byAtt == nil {
			return nil
		}
		var ties [][2]string
		err := byAtt.ForEach(func(k, _ []byte) error {
			if id, clickID, ok := unpair(k); ok {
				ties = append(ties, [2]string{id, clickID})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, t := range ties {
			if err := tie(root, t[0], t[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return meta.Put(keyTiesIndexed, empty)
}

// deletePrefix deletes the keys of b (if any) that start with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// indexClicks files every click under its drop day: once, for a file
// written before clicks were pruned.
func indexClicks(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyClicksIndexed) != nil {
		return nil
	}
	days, err := tx.CreateBucketIfNotExists(bucketClickDays)
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketAccounts).ForEachBucket(func(account []byte) error {
		clicks := tx.Bucket(bucketAccounts).Bucket(account).Bucket(bucketClicks)
		if clicks == nil {
			return nil
		}
		return clicks.ForEach(func(id, v []byte) error {
			var rec storage.ClickRec
			if json.Unmarshal(v, &rec) != nil {
				return nil
			}
			return indexClickKey(days, clickDropDay(rec.Expires), string(account), string(id))
		})
	})
	if err != nil {
		return err
	}
	return meta.Put(keyClicksIndexed, empty)
}

// eraseClicks strips the macros of the clicks attendee id converted (its
// traffic source's ids for the visit: external_id, zone, ...), keeping
// campaign, cost, time and valuation so that reports stay right, and
// lists them all in er.ClickIDs (stripped now or earlier) for the caller
// to strip elsewhere. The ties stay until the click is dropped.
func (a *acctTxn) eraseClicks(id string, er *storage.Erasure) error {
	ab := a.root.Bucket(bucketAttClicks)
	if ab == nil {
		return nil
	}
	prefix := lp(nil, id)
	cb := a.root.Bucket(bucketClicks)
	c := ab.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		clickID := string(k[len(prefix):])
		er.ClickIDs = append(er.ClickIDs, clickID)
		var v []byte
		if cb != nil {
			v = cb.Get([]byte(clickID))
		}
		if v == nil {
			continue // dropped since: its tie goes with it
		}
		var click storage.ClickRec
		if err := json.Unmarshal(v, &click); err != nil {
			return err
		}
		if len(click.Macros) == 0 {
			continue // stripped by an earlier erasure
		}
		click.Macros = nil
		nv, err := json.Marshal(click)
		if err != nil {
			return err
		}
		if err := cb.Put([]byte(clickID), nv); err != nil {
			return err
		}
		er.Clicks++
	}
	return nil
}
