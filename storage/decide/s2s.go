package decide

import "github.com/pixelpost/pixelpost/storage"

// putClick records a click; applying the same click again rewrites the
// same record. It is kept for its window plus storage.ClickGrace.
func (t *Txn) putClick(op *storage.Op) storage.Result {
	rec := storage.NewClickRec(op)
	t.clicks[op.ClickID] = &rec
	t.ch.Clicks[op.ClickID] = &ClickChange{Rec: rec, TTL: op.ClickTTL + storage.ClickGrace}
	return storage.Result{Status: storage.StatusAccepted}
}

// postback applies storage.DecidePostback to the click's conversion; a
// conversion the op's attendee (id, "" for none: only the conversion
// pixel names a person) reached ties the click to that attendee
// (storage.Result.AttendeeID).
func (t *Txn) postback(op *storage.Op, id string) (storage.Result, error) {
	stored, err := t.click(op.ClickID)
	if err != nil {
		return storage.Result{}, err
	}
	if stored == nil {
		return storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonUnknownClick}, nil
	}
	click := *stored
	if click.Access == nil {
		// Recorded by an earlier build: its campaign's current document
		// says who may convert it (nobody when the campaign is gone).
		doc, err := t.config(storage.ConfigCampaign, click.CampaignID)
		if err != nil {
			return storage.Result{}, err
		}
		click.Access = storage.CampaignAccess(doc)
	}
	key := storage.ConvKey(op.ClickID, op.TxID, op.Goal)
	prev, err := t.conversion(key)
	if err != nil {
		return storage.Result{}, err
	}
	res, next := storage.DecidePostback(op, &click, prev)
	if res.Conversion != nil && id != "" {
		res.AttendeeID = id
		if tie := (Tie{id, op.ClickID}); !t.tied[tie] {
			t.tied[tie] = true
			t.ch.Ties = append(t.ch.Ties, tie)
		}
	}
	if next != nil {
		t.convs[key] = next
		if c := t.ch.Conversions[key]; c != nil {
			c.Rec = *next
		} else {
			t.ch.Conversions[key] = &ConvChange{Rec: *next, ClickID: op.ClickID, New: prev == nil}
		}
	}
	return res, nil
}
