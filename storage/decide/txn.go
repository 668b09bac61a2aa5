package decide

import (
	"slices"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// MaxIDLen bounds every id of an op (the adapters' key limits): an op with
// a longer one is refused alone (ReasonInvalidOp).
const MaxIDLen = 4096

// ReasonInvalidOp rejects an op the server never builds: no hit id, an
// unknown kind, a conversion without an order key, an oversized id. It is
// not remembered (a replay is refused alike), and refusing it alone keeps
// one bad op from failing (and, replayed from the hits log, failing
// again) its whole batch.
const ReasonInvalidOp = "invalid_op"

// Txn decides the ops of one account in order, reading through a View and
// gathering the writes in Changes. What an op wrote is what a later op of
// the same Txn reads. A Txn is not safe for concurrent use.
type Txn struct {
	v  View
	ch *Changes

	exists, existsKnown bool

	marks     map[string]uint64
	retained  map[logPos]*storage.Result
	orders    map[string]*Order
	attendees map[string]*Attendee
	cookies   map[string]string
	regs      map[RegKey]*Registration
	tags      map[string][]string
	tombs     map[string]tomb
	clicks    map[string]*storage.ClickRec
	convs     map[string]*storage.ConvRec
	profiles  map[string]map[string]string
	configs   map[[2]string][]byte
	listed    map[string]bool
	tied      map[Tie]bool
}

type logPos struct {
	log string
	pos uint64
}

type tomb struct {
	at int64
	ok bool
}

// New starts a Txn over v.
func New(v View) *Txn { return NewSized(v, 0) }

// NewSized starts a Txn over v for about n ops (its maps start that big).
func NewSized(v View, n int) *Txn {
	ch := newChanges()
	ch.Orders, ch.Attendees = make(map[string]*Order, n), make(map[string]*AttendeeChange, n)
	ch.Retain = make([]Retained, 0, n)
	return &Txn{
		v:         v,
		ch:        ch,
		marks:     map[string]uint64{},
		retained:  make(map[logPos]*storage.Result, n),
		orders:    make(map[string]*Order, n),
		attendees: make(map[string]*Attendee, n),
		cookies:   map[string]string{},
		regs:      map[RegKey]*Registration{},
		tags:      map[string][]string{},
		tombs:     map[string]tomb{},
		clicks:    map[string]*storage.ClickRec{},
		convs:     map[string]*storage.ConvRec{},
		profiles:  map[string]map[string]string{},
		configs:   map[[2]string][]byte{},
		listed:    map[string]bool{},
		tied:      map[Tie]bool{},
	}
}

// Changes returns the writes decided so far. The adapter owns them once
// the Txn is done.
func (t *Txn) Changes() *Changes { return t.ch }

// Apply decides one op (docs/ledger.md "Every op"). An error is a failure
// of the View: the batch is to be given up (nothing of it written).
func (t *Txn) Apply(op *storage.Op) (storage.Result, error) {
	if !op.Valid(MaxIDLen) {
		return storage.Result{Status: storage.StatusRejected, Reason: ReasonInvalidOp}, nil
	}
	exists, err := t.accountExists()
	if err != nil {
		return storage.Result{}, err
	}
	if !exists {
		return rejected(storage.ReasonUnknownAccount, ""), nil
	}
	if op.Log != "" {
		if op.Kept > t.ch.Forget[op.Log] {
			t.ch.Forget[op.Log] = op.Kept
		}
		mark, err := t.mark(op.Log)
		if err != nil {
			return storage.Result{}, err
		}
		if op.Pos <= mark {
			return t.replay(op)
		}
	}
	if op.CheckHitID {
		applied, orig, err := t.v.LegacyHit(op)
		if err != nil {
			return storage.Result{}, err
		}
		if applied {
			res := replayed()
			if orig != nil {
				o := *orig
				res.Original = &o
				t.remember(op, orig)
			} else {
				t.remember(op, nil)
			}
			return res, nil
		}
	}
	res, err := t.decide(op)
	if err != nil {
		return storage.Result{}, err
	}
	t.remember(op, &res)
	return res, nil
}

func replayed() storage.Result {
	return storage.Result{Status: storage.StatusDuplicate, Reason: storage.ReasonReplayedHit}
}

func rejected(reason, attendeeID string) storage.Result {
	return storage.Result{Status: storage.StatusRejected, Reason: reason, AttendeeID: attendeeID}
}

// remember advances the op's log mark and keeps its result (nil: none) for
// its replays. The click's macros are not kept: a replay reads them from
// the click (which an erasure strips).
func (t *Txn) remember(op *storage.Op, res *storage.Result) {
	if op.Log == "" {
		return
	}
	t.marks[op.Log] = op.Pos
	t.ch.Marks[op.Log] = op.Pos
	if res == nil {
		return
	}
	kept := *res
	kept.Original = nil
	if c := kept.Conversion; c != nil {
		cc := *c
		cc.Macros = nil
		kept.Conversion = &cc
	}
	t.retained[logPos{op.Log, op.Pos}] = &kept
	t.ch.Retain = append(t.ch.Retain, Retained{Log: op.Log, Pos: op.Pos, Result: kept})
}

// replay answers an op at or below its log's mark: duplicate, with the
// first application's result while it is kept.
func (t *Txn) replay(op *storage.Op) (storage.Result, error) {
	res := replayed()
	orig, ok := t.retained[logPos{op.Log, op.Pos}]
	if !ok {
		var err error
		if orig, err = t.v.Retained(op.Log, op.Pos); err != nil {
			return storage.Result{}, err
		}
	}
	if orig == nil {
		return res, nil
	}
	o := *orig
	if c := o.Conversion; c != nil {
		cc := *c
		click, err := t.click(op.ClickID)
		if err != nil {
			return storage.Result{}, err
		}
		if click != nil {
			cc.Macros = click.Macros
		}
		o.Conversion = &cc
	}
	res.Original = &o
	return res, nil
}

func (t *Txn) decide(op *storage.Op) (storage.Result, error) {
	if op.Kind == storage.OpClick {
		return t.putClick(op), nil
	}
	// A postback has an attendee only from the conversion pixel (its email
	// or cookie): the person's purchase, refused alike.
	id, email, err := t.resolve(op)
	if err != nil {
		return storage.Result{}, err
	}
	erased, err := t.erased(id, op.Time.UnixNano())
	if err != nil {
		return storage.Result{}, err
	}
	if erased {
		// An erased attendee's op dated up to its erasure (a replay, or a
		// hit that waited in the log): refused, with no attendee.
		return rejected(storage.ReasonErased, ""), nil
	}
	switch op.Kind {
	case storage.OpPostback:
		return t.postback(op, id)
	case storage.OpLead:
		if err := t.identify(op, id, email); err != nil {
			return storage.Result{}, err
		}
		return t.lead(op, id)
	}
	r, err := t.credited(op)
	if err != nil {
		return storage.Result{}, err
	}
	if op.Kind == storage.OpRegistration {
		return t.register(op, id, email, r)
	}
	return t.convert(op, id, email, r)
}

// resolve returns the op's attendee id (and its email, for an email
// attendee) without changing anything.
func (t *Txn) resolve(op *storage.Op) (id, email string, err error) {
	switch {
	case op.AttendeeEmail != "":
		return op.EmailAttendeeID(), op.AttendeeEmail, nil
	case op.CookieID != "":
		link, err := t.cookieLink(op.CookieID)
		if err != nil || link != "" {
			return link, "", err
		}
		return attribution.CookieAttendeeID(op.CookieID), "", nil
	case op.AttendeeID != "":
		return op.AttendeeID, "", nil
	}
	return "", "", nil
}

// credited is R: the explicit webinars without duplicates, then each tag's
// current members sorted by id, those already in R dropped.
func (t *Txn) credited(op *storage.Op) ([]string, error) {
	r := make([]string, 0, len(op.Webinars))
	for _, w := range op.Webinars {
		if w != "" && !slices.Contains(r, w) {
			r = append(r, w)
		}
	}
	for _, tag := range op.Tags {
		members, err := t.tagMembers(tag)
		if err != nil {
			return nil, err
		}
		for _, w := range members {
			if !slices.Contains(r, w) {
				r = append(r, w)
			}
		}
	}
	return r, nil
}

// identify applies the identity effects of an op that is not rejected: the
// cookie is linked to the email's attendee (last link wins), and the
// attendee has a record.
func (t *Txn) identify(op *storage.Op, id, email string) error {
	if id == "" {
		return nil
	}
	if op.AttendeeEmail != "" && op.CookieID != "" {
		link, err := t.cookieLink(op.CookieID)
		if err != nil {
			return err
		}
		if link != id {
			t.cookies[op.CookieID] = id
			t.ch.Cookies[op.CookieID] = id
		}
	}
	rec, err := t.attendee(id)
	if err != nil || rec != nil {
		return err
	}
	t.putAttendee(id, &Attendee{Email: email})
	return nil
}

// list adds webinars to the account's list, untagged and unnamed if new.
func (t *Txn) list(webinars []string) {
	for _, w := range webinars {
		if !t.listed[w] {
			t.listed[w] = true
			t.ch.Listed = append(t.ch.Listed, w)
		}
	}
}

// erased reports whether an op of attendee id dated at is refused: the
// attendee was erased at or after it.
func (t *Txn) erased(id string, at int64) (bool, error) {
	if id == "" {
		return false, nil
	}
	tb, err := t.tombstone(id)
	return tb.ok && at <= tb.at, err
}
