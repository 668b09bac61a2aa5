package decide

import "github.com/pixelpost/pixelpost/storage"

// The Txn's copy of the records: read through the View once, then read and
// written here. A nil entry is a record known to be absent.

func (t *Txn) accountExists() (bool, error) {
	if !t.existsKnown {
		ok, err := t.v.Exists()
		if err != nil {
			return false, err
		}
		t.exists, t.existsKnown = ok, true
	}
	return t.exists, nil
}

func (t *Txn) mark(log string) (uint64, error) {
	if m, ok := t.marks[log]; ok {
		return m, nil
	}
	m, err := t.v.Mark(log)
	if err != nil {
		return 0, err
	}
	t.marks[log] = m
	return m, nil
}

func (t *Txn) order(key string) (*Order, error) {
	if o, ok := t.orders[key]; ok {
		return o, nil
	}
	o, err := t.v.Order(key)
	if err != nil {
		return nil, err
	}
	t.orders[key] = o
	return o, nil
}

// putOrder writes an order (nil: deletes it).
func (t *Txn) putOrder(key string, o *Order) {
	t.orders[key] = o
	t.ch.Orders[key] = o
}

func (t *Txn) attendee(id string) (*Attendee, error) {
	if a, ok := t.attendees[id]; ok {
		return a, nil
	}
	a, err := t.v.Attendee(id)
	if err != nil {
		return nil, err
	}
	t.attendees[id] = a
	return a, nil
}

// putAttendee writes a new attendee record.
func (t *Txn) putAttendee(id string, a *Attendee) {
	t.attendees[id] = a
	c := t.attendeeChange(id)
	c.Rec, c.Created = a, true
}

// writableAttendee returns the attendee's record to change in place (nil
// when it has none); the change is written.
func (t *Txn) writableAttendee(id string) (*Attendee, error) {
	a, err := t.attendee(id)
	if err != nil || a == nil {
		return nil, err
	}
	c := t.attendeeChange(id)
	if c.Rec == nil {
		a = a.clone() // what the View gave stays as read
		t.attendees[id] = a
		c.Rec = a
	}
	return a, nil
}

func (t *Txn) attendeeChange(id string) *AttendeeChange {
	c := t.ch.Attendees[id]
	if c == nil {
		c = &AttendeeChange{}
		t.ch.Attendees[id] = c
	}
	return c
}

func (t *Txn) cookieLink(cookie string) (string, error) {
	if l, ok := t.cookies[cookie]; ok {
		return l, nil
	}
	l, err := t.v.CookieLink(cookie)
	if err != nil {
		return "", err
	}
	t.cookies[cookie] = l
	return l, nil
}

func (t *Txn) registration(w, id string) (*Registration, error) {
	k := RegKey{w, id}
	if r, ok := t.regs[k]; ok {
		return r, nil
	}
	r, err := t.v.Registration(w, id)
	if err != nil {
		return nil, err
	}
	t.regs[k] = r
	return r, nil
}

func (t *Txn) putRegistration(w, id string, r *Registration) {
	k := RegKey{w, id}
	t.regs[k] = r
	t.ch.Registrations[k] = r
}

func (t *Txn) tagMembers(tag string) ([]string, error) {
	if m, ok := t.tags[tag]; ok {
		return m, nil
	}
	m, err := t.v.TagMembers(tag)
	if err != nil {
		return nil, err
	}
	t.tags[tag] = m
	return m, nil
}

func (t *Txn) tombstone(id string) (tomb, error) {
	if tb, ok := t.tombs[id]; ok {
		return tb, nil
	}
	at, ok, err := t.v.Tombstone(id)
	if err != nil {
		return tomb{}, err
	}
	tb := tomb{at, ok}
	t.tombs[id] = tb
	return tb, nil
}

func (t *Txn) click(id string) (*storage.ClickRec, error) {
	if c, ok := t.clicks[id]; ok {
		return c, nil
	}
	c, err := t.v.Click(id)
	if err != nil {
		return nil, err
	}
	t.clicks[id] = c
	return c, nil
}

func (t *Txn) conversion(key string) (*storage.ConvRec, error) {
	if c, ok := t.convs[key]; ok {
		return c, nil
	}
	c, err := t.v.Conversion(key)
	if err != nil {
		return nil, err
	}
	t.convs[key] = c
	return c, nil
}

func (t *Txn) profile(id string) (map[string]string, error) {
	if p, ok := t.profiles[id]; ok {
		return p, nil
	}
	p, err := t.v.Profile(id)
	if err != nil {
		return nil, err
	}
	t.profiles[id] = p
	return p, nil
}

func (t *Txn) config(kind, id string) ([]byte, error) {
	k := [2]string{kind, id}
	if d, ok := t.configs[k]; ok {
		return d, nil
	}
	d, err := t.v.Config(kind, id)
	if err != nil {
		return nil, err
	}
	t.configs[k] = d
	return d, nil
}
