package embedded

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
)

// Clicks live in accounts/<account>/clicks/<click id> and conversions in
// accounts/<account>/convs/<conversion key>, as JSON (storage.ClickRec,
// storage.ConvRec). Clicks are kept after their window (reads check
// Expires); see README for what is not pruned yet.
var (
	bucketClicks   = []byte("clicks")
	bucketConvs    = []byte("convs")
	bucketProfiles = []byte("profiles")
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

// postback applies storage.DecidePostback to the click's conversion.
func (a *acctTxn) postback(op *storage.Op) (storage.Result, error) {
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

// lead merges the op's profile fields into the attendee's profile.
func (a *acctTxn) lead(op *storage.Op, id string) (storage.Result, error) {
	b, err := a.root.CreateBucketIfNotExists(bucketProfiles)
	if err != nil {
		return storage.Result{}, err
	}
	prof := map[string]string{}
	status := storage.StatusAccepted
	if v := b.Get([]byte(id)); v != nil {
		status = storage.StatusUpdated
		if err := json.Unmarshal(v, &prof); err != nil {
			return storage.Result{}, err
		}
	}
	changed := status == storage.StatusAccepted
	for k, v := range op.Profile {
		if prof[k] != v {
			prof[k], changed = v, true
		}
	}
	if !changed {
		return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonSameProfile, AttendeeID: id}, nil
	}
	v, err := json.Marshal(prof)
	if err != nil {
		return storage.Result{}, err
	}
	return storage.Result{Status: status, AttendeeID: id}, b.Put([]byte(id), v)
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
