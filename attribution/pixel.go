package attribution

import "bytes"

// PixelHit is a parsed conversion pixel query (SPEC §1.1). Absent
// parameters, and placeholders the checkout did not substitute, are "" or
// nil. The strings never alias the request buffer: all of them share one
// allocation made by the parser.
type PixelHit struct {
	Webinars []string // valid ids, deduplicated, in query order; nil when none
	Tags     []string // valid ids, deduplicated, in query order; nil when none
	Email    string   // normalised (NormalizeEmail), or ""
	// Amount is the trimmed, unparsed amount: the caller parses it with
	// ParseAmount once the currency is known (Currency or the account's
	// default).
	Amount      string
	Currency    string // upper-case ISO 4217 code, or "" for the account default
	OrderID     string // at most 128 bytes, no control characters
	ProductID   string // at most 256 bytes, no control characters
	ProductName string // at most 256 bytes, no control characters
	// ClickID (cid) names a campaign click: the pixel then also records
	// the conversion against it, as a postback would (SPEC §1.4). Goal
	// names its goal ("" for the default one).
	ClickID string
	Goal    string
}

// RegistrationHit is a parsed registration pixel query (SPEC §1.2), with
// the same rules as PixelHit.
type RegistrationHit struct {
	Webinars []string
	Tags     []string
	Email    string
}

// Length limits of the single-valued labels, in bytes.
const (
	maxOrderIDBytes = 128
	maxProductBytes = 256
)

// ValidOrderID is the one rule for order ids, wherever they come from (the
// pixel, a manual conversion): at most 128 bytes of valid UTF-8, no control
// characters (they would corrupt CSV exports and log lines).
func ValidOrderID[T ~string | ~[]byte](v T) bool {
	return len(v) <= maxOrderIDBytes && !hasControl(v)
}

// ParsePixel parses the raw query of a conversion pixel hit.
//
// On top of ParseQuery's rules: parameter names are matched without regard
// to ASCII case (webinarId, webinarid, orderID), since hand-written tags
// get the case of the camel-cased names wrong and no two of them differ by
// case only; no other spelling (webinar_id) is accepted. Unknown parameters
// (utm_source...) are checked for encoding, then ignored. Values are trimmed
// of ASCII spaces; an empty value or a placeholder (IsPlaceholder) is
// absent. webinarId and tag repeat; each must be a ValidID
// (ReasonInvalidWebinarID, ReasonInvalidTag) and repeats are dropped.
// email, amount, currency, orderId, productId and productName are single: a
// second, different value is ReasonDuplicateParam (the same value again,
// currencies and emails compared in their normal form, is fine). email must
// pass NormalizeEmail, currency NormalizeCurrency; orderId is at most 128
// bytes (ReasonInvalidOrderID), productId and productName 256
// (ReasonInvalidProduct), none with control characters.
func ParsePixel(raw []byte) (PixelHit, error) {
	var p hitParser
	if err := p.parse(raw, pixelFields); err != nil {
		return PixelHit{}, err
	}
	s := string(p.buf) // the one copy every returned string points into
	email, err := p.email(s)
	if err != nil {
		return PixelHit{}, err
	}
	webinars, tags := p.idLists(s)
	return PixelHit{
		Webinars:    webinars,
		Tags:        tags,
		Email:       email,
		Amount:      p.value(s, fieldAmount),
		Currency:    p.currency(s),
		OrderID:     p.value(s, fieldOrderID),
		ProductID:   p.value(s, fieldProductID),
		ProductName: p.value(s, fieldProductName),
		ClickID:     p.value(s, fieldClickID),
		Goal:        p.value(s, fieldGoal),
	}, nil
}

// ParseRegistration parses the raw query of a registration pixel hit:
// webinarId, tag and email, with ParsePixel's rules; other parameters are
// ignored.
func ParseRegistration(raw []byte) (RegistrationHit, error) {
	var p hitParser
	if err := p.parse(raw, registrationFields); err != nil {
		return RegistrationHit{}, err
	}
	s := string(p.buf)
	email, err := p.email(s)
	if err != nil {
		return RegistrationHit{}, err
	}
	webinars, tags := p.idLists(s)
	return RegistrationHit{Webinars: webinars, Tags: tags, Email: email}, nil
}

// field is a parameter the pixels understand.
type field uint8

const (
	fieldNone field = iota
	fieldWebinar
	fieldTag
	fieldEmail
	fieldAmount
	fieldCurrency
	fieldOrderID
	fieldProductID
	fieldProductName
	fieldClickID
	fieldGoal
	numFields
)

// fieldSet is a bit set of fields.
type fieldSet uint16

const (
	registrationFields fieldSet = 1<<fieldWebinar | 1<<fieldTag | 1<<fieldEmail
	pixelFields                 = registrationFields | 1<<fieldAmount | 1<<fieldCurrency |
		1<<fieldOrderID | 1<<fieldProductID | 1<<fieldProductName | 1<<fieldClickID | 1<<fieldGoal
)

// name is the field's parameter name, as documented.
func (f field) name() string {
	switch f {
	case fieldWebinar:
		return "webinarId"
	case fieldTag:
		return "tag"
	case fieldEmail:
		return "email"
	case fieldAmount:
		return "amount"
	case fieldCurrency:
		return "currency"
	case fieldOrderID:
		return "orderId"
	case fieldProductID:
		return "productId"
	case fieldProductName:
		return "productName"
	case fieldClickID:
		return "cid"
	case fieldGoal:
		return "goal"
	}
	return ""
}

// fieldOf matches a decoded key against the fields in set.
func fieldOf(key []byte, set fieldSet) field {
	for f := fieldWebinar; f < numFields; f++ {
		if set&(1<<f) != 0 && equalFoldASCII(key, f.name()) {
			return f
		}
	}
	return fieldNone
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// span locates a kept value in hitParser.buf.
type span struct {
	f      field
	lo, hi int
}

// hitParser collects the values a pixel keeps into one buffer, without a
// map and without allocating per parameter: the caller turns the buffer
// into one string and slices it.
type hitParser struct {
	buf    []byte
	single [numFields]span // f == fieldNone: absent
	ids    [MaxParams]span // webinars and tags, in query order
	nids   int
}

func (p *hitParser) parse(raw []byte, set fieldSet) error {
	if len(raw) > MaxQueryBytes {
		return reject(ReasonQueryTooLong, "")
	}
	p.buf = make([]byte, 0, len(raw)) // decoded text is never longer than raw
	it := segments{rest: raw}
	for {
		seg, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		start := len(p.buf)
		var keyEnd int
		if p.buf, keyEnd, err = decodeParam(p.buf, seg); err != nil {
			return err
		}
		f := fieldOf(p.buf[start:keyEnd], set)
		// Keep only the trimmed value, moved to where the key was.
		p.buf = append(p.buf[:start], trimSpace(p.buf[keyEnd:])...)
		if f == fieldNone || isPlaceholder(p.buf[start:]) {
			p.buf = p.buf[:start]
			continue
		}
		if err := p.add(span{f, start, len(p.buf)}); err != nil {
			return err
		}
	}
}

// add checks a present value and records it, or drops it as a repeat.
func (p *hitParser) add(v span) error {
	b := p.buf[v.lo:v.hi]
	if reason := invalidReason(v.f, b); reason != "" {
		return reject(reason, v.f.name())
	}
	if v.f == fieldWebinar || v.f == fieldTag {
		for _, id := range p.ids[:p.nids] {
			if id.f == v.f && bytes.Equal(p.buf[id.lo:id.hi], b) {
				p.buf = p.buf[:v.lo]
				return nil
			}
		}
		p.ids[p.nids] = v
		p.nids++
		return nil
	}
	prev := p.single[v.f]
	if prev.f == fieldNone {
		p.single[v.f] = v
		return nil
	}
	if !sameValue(v.f, p.buf[prev.lo:prev.hi], b) {
		return reject(ReasonDuplicateParam, v.f.name())
	}
	p.buf = p.buf[:v.lo]
	return nil
}

// invalidReason is the rejection reason of a present value of f, or "".
// Emails are checked once parsing is done, by NormalizeEmail.
func invalidReason(f field, v []byte) string {
	switch f {
	case fieldWebinar:
		if !validID(v) {
			return ReasonInvalidWebinarID
		}
	case fieldTag:
		if !validID(v) {
			return ReasonInvalidTag
		}
	case fieldCurrency:
		if currencyIndex(v) < 0 {
			return ReasonInvalidCurrency
		}
	case fieldOrderID:
		if !ValidOrderID(v) {
			return ReasonInvalidOrderID
		}
	case fieldProductID, fieldProductName:
		if len(v) > maxProductBytes || hasControl(v) {
			return ReasonInvalidProduct
		}
	case fieldClickID:
		if !validID(v) {
			return ReasonBadClickID
		}
	case fieldGoal:
		if !validID(v) {
			return ReasonBadGoal
		}
	}
	return ""
}

// sameValue reports whether two values of a single field mean the same.
func sameValue(f field, a, b []byte) bool {
	switch {
	case bytes.Equal(a, b):
		return true
	case f == fieldCurrency:
		return bytes.EqualFold(a, b)
	case f == fieldEmail:
		x, errX := NormalizeEmail(string(a))
		y, errY := NormalizeEmail(string(b))
		return errX == nil && errY == nil && x == y
	}
	return false
}

// value is the kept value of a single field, sliced from s = string(p.buf).
func (p *hitParser) value(s string, f field) string {
	v := p.single[f]
	if v.f == fieldNone {
		return ""
	}
	return s[v.lo:v.hi]
}

func (p *hitParser) email(s string) (string, error) {
	v := p.value(s, fieldEmail)
	if v == "" {
		return "", nil
	}
	return NormalizeEmail(v)
}

// currency returns the canonical code from the currency table: no copy.
func (p *hitParser) currency(s string) string {
	v := p.value(s, fieldCurrency)
	if v == "" {
		return ""
	}
	i := currencyIndex(v)
	return currencyTable[i : i+3]
}

// idLists builds the webinar and tag lists on one backing array.
func (p *hitParser) idLists(s string) (webinars, tags []string) {
	if p.nids == 0 {
		return nil, nil
	}
	all := make([]string, 0, p.nids)
	for _, id := range p.ids[:p.nids] {
		if id.f == fieldWebinar {
			all = append(all, s[id.lo:id.hi])
		}
	}
	n := len(all)
	for _, id := range p.ids[:p.nids] {
		if id.f == fieldTag {
			all = append(all, s[id.lo:id.hi])
		}
	}
	if n > 0 {
		webinars = all[:n:n]
	}
	if len(all) > n {
		tags = all[n:]
	}
	return webinars, tags
}
