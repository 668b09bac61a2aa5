package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// reasonInvalidOp rejects an op the server should never build: no hit id,
// an unknown kind, a conversion without an order key, an id too long to be
// a bolt key. It is not remembered. Rejecting it alone keeps one bad op from
// failing (and, replayed from the WAL, failing again) its whole batch.
const reasonInvalidOp = "invalid_op"

// maxIDLen bounds every id used in a key; bolt's limit is 32 KiB per key.
const maxIDLen = 4096

func validOp(op *storage.Op) bool { return op.Valid(maxIDLen) }

// Apply applies ops in order in one write transaction (one fsync), each with
// the rules of docs/ledger.md, and returns one Result per op. On error the
// transaction is rolled back: nothing of the batch was applied.
func (l *Ledger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	results := make([]storage.Result, len(ops))
	if len(ops) == 0 {
		if l.closed.Load() {
			return nil, ErrClosed
		}
		return results, nil
	}
	err := l.update(ctx, func(tx *bolt.Tx) error {
		t := newTxn(tx)
		for i := range ops {
			r, err := t.apply(&ops[i])
			if err != nil {
				return fmt.Errorf("op %d (hit %q): %w", i, ops[i].HitID, err)
			}
			results[i] = r
		}
		if err := t.flush(); err != nil {
			return err
		}
		return t.prune()
	})
	switch {
	case err == nil:
		return results, nil
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	default:
		return nil, fmt.Errorf("cannot apply batch of %d ops: %w: %w", len(ops), storage.ErrUnavailable, err)
	}
}

// txn is the state of one Apply transaction: the buckets it opened and the
// records it read, written back once at the end (a batch touching the same
// webinar 64 times writes its stats once).
type txn struct {
	tx       *bolt.Tx
	hits     *bolt.Bucket
	hitDays  *bolt.Bucket
	days     map[int64]*bolt.Bucket
	newest   int64 // the newest day of any op applied, ever
	newestUp bool  // newest changed in this transaction
	accounts map[string]*acctTxn
}

func newTxn(tx *bolt.Tx) *txn {
	t := &txn{
		tx:       tx,
		hits:     tx.Bucket(bucketHits),
		hitDays:  tx.Bucket(bucketHitDays),
		days:     map[int64]*bolt.Bucket{},
		accounts: map[string]*acctTxn{},
	}
	if v := tx.Bucket(bucketMeta).Get(keyNewestDay); len(v) == 8 {
		t.newest = timeFromKey(v)
	}
	return t
}

// acctTxn is one account within a transaction.
type acctTxn struct {
	acctBuckets
	stats     map[string]*statsRec // every entry is written back
	attendees map[string]*attendeeEntry
	orders    map[string]*orderEntry
	listed    map[string]bool
	// erasedB is the account's erased bucket (nil: none), read once.
	erasedB      *bolt.Bucket
	erasedLoaded bool
}

type attendeeEntry struct {
	rec   *attendeeRec // nil: no such attendee
	dirty bool
}

type orderEntry struct {
	rec   *orderRec // nil: no such order
	dirty bool
}

// account returns the account's state, or nil when it does not exist.
func (t *txn) account(id string) *acctTxn {
	if a, ok := t.accounts[id]; ok {
		return a
	}
	b, ok := openAccount(t.tx, id)
	if !ok {
		return nil // unknown accounts are not cached: cheap to look up again
	}
	a := &acctTxn{
		acctBuckets: b,
		stats:       map[string]*statsRec{},
		attendees:   map[string]*attendeeEntry{},
		orders:      map[string]*orderEntry{},
		listed:      map[string]bool{},
	}
	t.accounts[id] = a
	return a
}

func (t *txn) apply(op *storage.Op) (storage.Result, error) {
	if !validOp(op) {
		return storage.Result{Status: storage.StatusRejected, Reason: reasonInvalidOp}, nil
	}
	a := t.account(op.Account)
	if a == nil {
		return storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonUnknownAccount}, nil
	}
	hk := pair(op.Account, op.HitID)
	if v := t.hits.Get(hk); v != nil {
		res := storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonReplayedHit}
		if len(v) > dayKeyLen {
			if orig, err := storage.DecodeResult(v[dayKeyLen:]); err == nil {
				res.Original = &orig
			}
		}
		return res, nil
	}
	day := dayOf(op.Time)
	// Remembered whatever the outcome: a rejected hit was decided once too.
	if err := t.remember(hk, day); err != nil {
		return storage.Result{}, err
	}
	if op.Kind != storage.OpClick {
		// A postback has an attendee only from the conversion pixel (its
		// email or cookie): the person's purchase, refused alike.
		if id, _ := a.resolve(op); a.erased(id, op.Time) {
			// An erased attendee's op dated up to its erasure (a replay, or
			// a hit that waited in the log): refused, with no attendee.
			res := rejected(storage.ReasonErased, "")
			return res, t.hits.Put(hk, storage.AppendResult(dayKey(day), &res))
		}
	}
	var res storage.Result
	var err error
	switch op.Kind {
	case storage.OpClick:
		if res, err = a.click(op); err == nil {
			err = t.indexClick(op)
		}
	case storage.OpPostback:
		id, _ := a.resolve(op)
		res, err = a.postback(op, id)
	case storage.OpLead:
		id, email := a.resolve(op)
		if err = a.identify(op, id, email); err == nil {
			res, err = a.lead(op, id)
		}
	case storage.OpRegistration:
		id, email := a.resolve(op)
		res, err = a.register(op, id, email, a.credited(op))
	default:
		id, email := a.resolve(op)
		res, err = a.convert(op, id, email, a.credited(op))
	}
	if err != nil {
		return res, err
	}
	// The hit id's value: its day, then its result for replays.
	return res, t.hits.Put(hk, storage.AppendResult(dayKey(day), &res))
}

// resolve returns the op's attendee id (and its email, for an email
// attendee) without changing anything.
func (a *acctTxn) resolve(op *storage.Op) (id, email string) {
	switch {
	case op.AttendeeEmail != "":
		return op.EmailAttendeeID(), op.AttendeeEmail
	case op.CookieID != "":
		if v := a.cookies.Get([]byte(op.CookieID)); v != nil {
			return string(v), ""
		}
		return attribution.CookieAttendeeID(op.CookieID), ""
	case op.AttendeeID != "":
		return op.AttendeeID, ""
	}
	return "", ""
}

// credited is R: the explicit webinars without duplicates, then each tag's
// current members sorted by id, those already in R dropped.
func (a *acctTxn) credited(op *storage.Op) []string {
	r := make([]string, 0, len(op.Webinars))
	for _, w := range op.Webinars {
		if w != "" && !slices.Contains(r, w) {
			r = append(r, w)
		}
	}
	for _, tag := range op.Tags {
		prefix := lp(nil, tag)
		c := a.tags.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if w := string(k[len(prefix):]); !slices.Contains(r, w) {
				r = append(r, w)
			}
		}
	}
	return r
}

// identify applies the identity effects of an op that was not rejected: the
// cookie is linked to the email's attendee, and the attendee has a record.
func (a *acctTxn) identify(op *storage.Op, id, email string) error {
	if id == "" {
		return nil
	}
	if op.AttendeeEmail != "" && op.CookieID != "" {
		ck := []byte(op.CookieID)
		if !bytes.Equal(a.cookies.Get(ck), []byte(id)) {
			if err := a.cookies.Put(ck, []byte(id)); err != nil {
				return err
			}
		}
	}
	e, err := a.attendee(id)
	if err != nil {
		return err
	}
	if e.rec == nil {
		e.rec, e.dirty = &attendeeRec{Email: email}, true
	}
	return nil
}

// list adds webinars to the account's list, untagged and unnamed if new.
func (a *acctTxn) list(webinars []string) error {
	for _, w := range webinars {
		if a.listed[w] {
			continue
		}
		k := []byte(w)
		if a.webinars.Get(k) == nil {
			if err := a.webinars.Put(k, (&webinarRec{}).encode()); err != nil {
				return err
			}
		}
		a.listed[w] = true
	}
	return nil
}

func (a *acctTxn) register(op *storage.Op, id, email string, r []string) (storage.Result, error) {
	switch {
	case len(r) == 0:
		return rejected(storage.ReasonNoWebinar, id), nil
	case id == "":
		return rejected(storage.ReasonNoAttendee, id), nil
	}
	if err := a.list(r); err != nil {
		return storage.Result{}, err
	}
	if err := a.identify(op, id, email); err != nil {
		return storage.Result{}, err
	}
	e, err := a.attendee(id)
	if err != nil {
		return storage.Result{}, err
	}
	isNew := false
	for _, w := range r {
		k := pair(w, id)
		if a.registrants.Get(k) != nil {
			continue
		}
		v := append(appendTimeKey(make([]byte, 0, 8+len(e.rec.Email)), nanos(op.Time)), e.rec.Email...)
		if err := a.registrants.Put(k, v); err != nil {
			return storage.Result{}, err
		}
		st, err := a.statsOf(w)
		if err != nil {
			return storage.Result{}, err
		}
		st.Registrants++
		if a.converted.Get(k) != nil {
			st.ConvertedRegistrants++
		}
		isNew = true
	}
	profileChanged := false
	if len(op.Profile) > 0 {
		if _, profileChanged, err = a.mergeProfile(id, op.Profile); err != nil {
			return storage.Result{}, err
		}
	}
	switch {
	case isNew:
		return storage.Result{Status: storage.StatusAccepted, Credited: r, AttendeeID: id}, nil
	case profileChanged:
		return storage.Result{Status: storage.StatusUpdated, Credited: r, AttendeeID: id}, nil
	}
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonAlreadyRegistered, Credited: r, AttendeeID: id}, nil
}

func (a *acctTxn) convert(op *storage.Op, id, email string, r []string) (storage.Result, error) {
	oe, err := a.order(op.OrderKey)
	if err != nil {
		return storage.Result{}, err
	}
	var prev *attribution.Order
	if oe.rec != nil {
		prev = &attribution.Order{
			Amount: oe.rec.Amount, Currency: oe.rec.Currency, Webinars: oe.rec.Webinars,
			AttendeeID: oe.rec.AttendeeID, FirstSeen: fromNanos(oe.rec.FirstSeen), LastSeen: fromNanos(oe.rec.LastSeen),
		}
	}
	var acqErr error
	acquisition := func(attendeeID string) []string {
		e, err := a.attendee(attendeeID)
		if err != nil {
			acqErr = err
			return nil
		}
		if e.rec == nil {
			return nil
		}
		return e.rec.Acquisition
	}
	eff := attribution.Sight(prev, attribution.Sighting{
		Time: op.Time, Webinars: r, AttendeeID: id,
		HasAmount: op.HasAmount, Amount: op.Amount, Currency: op.Currency, Window: op.OrderWindow,
	}, acquisition)
	if acqErr != nil {
		return storage.Result{}, acqErr
	}
	switch eff.Outcome {
	case attribution.OutcomeCurrencyMismatch:
		return rejected(storage.ReasonCurrencyMismatch, id), nil
	case attribution.OutcomeNoWebinar:
		return rejected(storage.ReasonNoWebinar, id), nil
	}

	if err := a.list(r); err != nil {
		return storage.Result{}, err
	}
	if err := a.identify(op, id, email); err != nil {
		return storage.Result{}, err
	}
	if oe.rec != nil && eff.Outcome == attribution.OutcomeNew {
		// The fingerprint window expired: the stored order stays in its
		// attendee's order list as it was.
		if err := a.archive(oe.rec); err != nil {
			return storage.Result{}, err
		}
	}
	if err := a.applyEffect(op.OrderKey, eff); err != nil {
		return storage.Result{}, err
	}

	o := eff.Order
	var rec orderRec
	if eff.Outcome == attribution.OutcomeNew {
		rec = orderRec{Key: op.OrderKey, OrderID: op.OrderID, ProductID: op.ProductID,
			ProductName: op.ProductName, Source: op.Source, FirstSeen: nanos(o.FirstSeen)}
	} else {
		rec = *oe.rec // labels stay those of the first sighting
	}
	rec.Amount, rec.Currency, rec.Webinars = o.Amount, o.Currency, o.Webinars
	rec.AttendeeID, rec.LastSeen = o.AttendeeID, nanos(o.LastSeen)
	oe.rec, oe.dirty = &rec, true

	res := storage.Result{Delta: eff.Diff, Credited: slices.Clone(o.Webinars), AttendeeID: id}
	switch eff.Outcome {
	case attribution.OutcomeNew:
		res.Status = storage.StatusAccepted
	case attribution.OutcomeUpdated:
		res.Status = storage.StatusUpdated
	default:
		res.Status, res.Reason = storage.StatusDuplicate, storage.ReasonSameOrder
	}
	return res, nil
}

// applyEffect applies the Effect of a sighting of orderKey exactly as
// attribution.Effect documents, and indexes an attached order under its
// attendee.
func (a *acctTxn) applyEffect(orderKey string, eff attribution.Effect) error {
	o := eff.Order
	for _, w := range eff.Existing {
		if eff.Diff == 0 {
			break // a refresh: no stats record to rewrite
		}
		st, err := a.statsOf(w)
		if err != nil {
			return err
		}
		st.Revenue.add(o.Currency, eff.Diff)
	}
	for _, w := range eff.Added {
		st, err := a.statsOf(w)
		if err != nil {
			return err
		}
		st.Sales++
		st.Revenue.add(o.Currency, o.Amount)
	}
	if o.AttendeeID == "" {
		return nil
	}
	e, err := a.attendee(o.AttendeeID)
	if err != nil {
		return err
	}
	if e.rec == nil { // cannot happen: identify created it, or it had the order
		e.rec = &attendeeRec{}
	}
	e.dirty = true
	converts := eff.Added
	if eff.AttachAttendee {
		e.rec.Orders++
		e.rec.LTV.add(o.Currency, o.Amount)
		converts = o.Webinars
		k := appendTimeKey(lp(nil, o.AttendeeID), nanos(o.FirstSeen))
		if err := a.attOrders.Put(append(k, orderKey...), empty); err != nil {
			return err
		}
	} else {
		e.rec.LTV.add(o.Currency, eff.Diff)
	}
	for _, w := range converts {
		if err := a.convertsFor(o.AttendeeID, e.rec, w); err != nil {
			return err
		}
	}
	if eff.Acquire {
		e.rec.Acquisition = slices.Clone(o.Webinars)
	}
	return nil
}

// convertsFor: the attendee joins converted(W) if not yet in it.
func (a *acctTxn) convertsFor(attendeeID string, rec *attendeeRec, w string) error {
	k := pair(w, attendeeID)
	if a.converted.Get(k) != nil {
		return nil
	}
	if err := a.converted.Put(k, empty); err != nil {
		return err
	}
	st, err := a.statsOf(w)
	if err != nil {
		return err
	}
	st.Converted++
	if a.registrants.Get(k) != nil {
		st.ConvertedRegistrants++
	}
	if i, found := slices.BinarySearch(rec.Webinars, w); !found {
		rec.Webinars = slices.Insert(rec.Webinars, i, w)
	}
	return nil
}

// archive keeps an order being replaced in its attendee's order list.
func (a *acctTxn) archive(old *orderRec) error {
	if old.AttendeeID == "" {
		return nil
	}
	k := appendTimeKey(lp(nil, old.AttendeeID), old.FirstSeen)
	return a.attOrders.Put(append(k, old.Key...), old.encode())
}

func rejected(reason, attendeeID string) storage.Result {
	return storage.Result{Status: storage.StatusRejected, Reason: reason, AttendeeID: attendeeID}
}

// Cached records.

func (a *acctTxn) statsOf(w string) (*statsRec, error) {
	if st, ok := a.stats[w]; ok {
		return st, nil
	}
	st := &statsRec{}
	if v := a.acctBuckets.stats.Get([]byte(w)); v != nil {
		var err error
		if st, err = decodeStats(v); err != nil {
			return nil, fmt.Errorf("webinar %q: %w", w, err)
		}
	}
	a.stats[w] = st
	return st, nil
}

func (a *acctTxn) attendee(id string) (*attendeeEntry, error) {
	if e, ok := a.attendees[id]; ok {
		return e, nil
	}
	e := &attendeeEntry{}
	if v := a.acctBuckets.attendees.Get([]byte(id)); v != nil {
		var err error
		if e.rec, err = decodeAttendee(v); err != nil {
			return nil, fmt.Errorf("attendee %q: %w", id, err)
		}
	}
	a.attendees[id] = e
	return e, nil
}

func (a *acctTxn) order(key string) (*orderEntry, error) {
	if e, ok := a.orders[key]; ok {
		return e, nil
	}
	e := &orderEntry{}
	if v := a.acctBuckets.orders.Get([]byte(key)); v != nil {
		var err error
		if e.rec, err = decodeOrder(v); err != nil {
			return nil, fmt.Errorf("order %q: %w", key, err)
		}
	}
	a.orders[key] = e
	return e, nil
}

// flush writes back the records the transaction changed.
func (t *txn) flush() error {
	for _, a := range t.accounts {
		for w, st := range a.stats {
			if err := a.acctBuckets.stats.Put([]byte(w), st.encode()); err != nil {
				return err
			}
		}
		for id, e := range a.attendees {
			if e.dirty {
				if err := a.acctBuckets.attendees.Put([]byte(id), e.rec.encode()); err != nil {
					return err
				}
			}
		}
		for key, e := range a.orders {
			if e.dirty {
				if err := a.acctBuckets.orders.Put([]byte(key), e.rec.encode()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
