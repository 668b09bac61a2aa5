// Package audience turns the people a ledger knows into the customer-list
// files that Google Ads (Customer Match) and Meta (custom audiences) import
// (SPEC §3.4): who is in (filters), who is complete and well-formed enough
// to be exported (the others counted by reason), each value normalised as
// the platform asks, hashed with SHA-256 on request, and cells a
// spreadsheet would run as formulas neutralised. Pure: no I/O, time passed
// in.
package audience

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// Platform is where a file goes.
type Platform string

const (
	Google Platform = "google"
	Meta   Platform = "meta"
)

// Headers are each platform's columns, in order.
var Headers = map[Platform][]string{
	Google: {"Email", "Phone", "First Name", "Last Name", "Country", "Zip"},
	Meta:   {"email", "phone", "fn", "ln", "zip", "ct", "st", "country", "dob", "doby", "gen", "age", "value"},
}

// Person is what the ledger knows of one attendee.
type Person struct {
	AttendeeID string
	Email      string
	Profile    map[string]string // attribution.Field* names
	LTV        map[string]attribution.Micros
	Orders     int64
	Converted  []string    // webinars it converted for
	Registered []string    // webinars it registered to
	Activity   []time.Time // when it registered and bought
}

// Filters choose who is in an export. Zero values choose everyone.
type Filters struct {
	// Group keeps the people whose profile "group" is this one (case
	// ignored): an import's group or segment column.
	Group string `json:"group,omitempty"`
	// Webinars keeps the people registered to or converted for one of them
	// (the caller resolves a tag to its webinars).
	Webinar string `json:"webinar,omitempty"`
	Tag     string `json:"tag,omitempty"`
	// Converted: true keeps customers, false those who never bought.
	Converted *bool `json:"converted,omitempty"`
	// MinLTV keeps the people whose lifetime value, in the account's
	// currency, is at least this decimal amount.
	MinLTV string `json:"min_ltv,omitempty"`
	// From and To (YYYY-MM-DD, inclusive) keep the people who registered or
	// bought in that period.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// ExcludeDomains leaves out emails of these domains and their
	// subdomains (marketplace relay addresses), counted as excluded_domain.
	ExcludeDomains []string `json:"exclude_domains,omitempty"`
}

// Selector is Filters checked and ready to apply.
type Selector struct {
	f        Filters
	webinars map[string]bool // nil: any
	minLTV   attribution.Micros
	currency string
	from, to time.Time // zero: open
	domains  []string
}

// NewSelector checks f. webinars are those f.Webinar and f.Tag stand for
// (nil when neither is set); currency is the account's, which MinLTV is in.
func NewSelector(f Filters, webinars []string, currency string) (*Selector, error) {
	s := &Selector{f: f, currency: currency}
	if f.Webinar != "" || f.Tag != "" {
		s.webinars = map[string]bool{}
		for _, w := range webinars {
			s.webinars[w] = true
		}
	}
	if f.MinLTV != "" {
		v, err := attribution.ParseAmount(f.MinLTV, currency)
		if err != nil {
			return nil, fmt.Errorf("min_ltv %q is not an amount in %s", f.MinLTV, currency)
		}
		s.minLTV = v
	}
	var err error
	if s.from, err = day(f.From, "from"); err != nil {
		return nil, err
	}
	if s.to, err = day(f.To, "to"); err != nil {
		return nil, err
	}
	if !s.to.IsZero() {
		s.to = s.to.Add(24*time.Hour - time.Nanosecond) // inclusive
	}
	for _, d := range f.ExcludeDomains {
		if d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "@.")); d != "" {
			s.domains = append(s.domains, d)
		}
	}
	return s, nil
}

func day(s, what string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not a date (YYYY-MM-DD)", what, s)
	}
	return t, nil
}

// Selects reports whether p is in the export.
func (s *Selector) Selects(p *Person) bool {
	if s.f.Group != "" && !strings.EqualFold(strings.TrimSpace(p.Profile[attribution.FieldGroup]), s.f.Group) {
		return false
	}
	if s.webinars != nil && !slices.ContainsFunc(p.Registered, s.has) && !slices.ContainsFunc(p.Converted, s.has) {
		return false
	}
	if c := s.f.Converted; c != nil && *c != (p.Orders > 0) {
		return false
	}
	if s.minLTV > 0 && p.LTV[s.currency] < s.minLTV {
		return false
	}
	if !s.from.IsZero() || !s.to.IsZero() {
		in := func(t time.Time) bool {
			return (s.from.IsZero() || !t.Before(s.from)) && (s.to.IsZero() || !t.After(s.to))
		}
		if !slices.ContainsFunc(p.Activity, in) {
			return false
		}
	}
	return true
}

func (s *Selector) has(w string) bool { return s.webinars[w] }

// excludedDomain reports an email of an excluded domain.
func (s *Selector) excludedDomain(email string) bool {
	_, domain, _ := strings.Cut(email, "@")
	domain = strings.ToLower(domain)
	for _, d := range s.domains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// Row builds p's row for a platform, or says why p is left out: a reason
// such as "missing_phone", "invalid_dob" or "excluded_domain". hashed
// writes each identifier the platform takes hashed as the SHA-256 hex of
// its normalised value (Google: email, phone and names; Meta: all but
// value); a value that already is a SHA-256 digest passes through.
// currency is the account's: Meta's value is the lifetime value in it.
func (s *Selector) Row(platform Platform, hashed bool, p *Person, currency string, now time.Time) ([]string, string) {
	mail := email(p.Email)
	if mail == "" {
		return nil, "invalid_email"
	}
	if s.excludedDomain(mail) {
		return nil, "excluded_domain"
	}
	prof := p.Profile
	get := func(f string) string { return strings.TrimSpace(prof[f]) }
	first, last := get(attribution.FieldFirstName), get(attribution.FieldLastName)
	if first == "" && last == "" {
		// A lead's full name: its first word, then the rest.
		first, last, _ = strings.Cut(get(attribution.FieldName), " ")
		last = strings.TrimSpace(last)
	}

	var missing, invalid string
	need := func(field, raw, norm string) string {
		switch {
		case missing != "" || invalid != "":
		case raw == "":
			missing = field
		case norm == "":
			invalid = field
		}
		return norm
	}
	cc := country(get(attribution.FieldCountry))
	pass := func(norm func(string) string) func(string) string {
		return func(v string) string {
			if hashed && sha256Hex(v) {
				return strings.ToLower(v)
			}
			return norm(v)
		}
	}
	phone := need("phone", get(attribution.FieldPhone), pass(func(v string) string { return phoneDigits(v, cc) })(get(attribution.FieldPhone)))
	fn := need("first_name", first, pass(name)(first))
	ln := need("last_name", last, pass(name)(last))
	need("country", get(attribution.FieldCountry), cc)
	zipRaw := get(attribution.FieldZip)

	h := func(v string) string {
		if !hashed || v == "" || sha256Hex(v) {
			return v
		}
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:])
	}
	if platform == Google {
		z := need("zip", zipRaw, zip(zipRaw))
		if missing != "" || invalid != "" {
			return nil, reasonOf(missing, invalid)
		}
		// Google hashes email, phone (E.164) and names; country and zip stay plain.
		if !hashed {
			fn, ln = first, last
		}
		return []string{h(mail), h(e164(phone)), h(fn), h(ln), cc, z}, ""
	}

	z := need("zip", zipRaw, pass(metaZip)(zipRaw))
	city := need("city", get(attribution.FieldCity), pass(func(v string) string { return letters(v, false) })(get(attribution.FieldCity)))
	dobRaw := get(attribution.FieldBirthDate)
	var dob, doby, years string
	if hashed && sha256Hex(dobRaw) {
		dob = need("dob", dobRaw, strings.ToLower(dobRaw))
		missing = firstOf(missing, "age") // an age cannot be told from a digest
	} else if t, ok := birthDate(dobRaw, now); ok || dobRaw == "" {
		dob = need("dob", dobRaw, t.Format("20060102"))
		doby, years = t.Format("2006"), strconv.Itoa(age(t, now))
	} else {
		need("dob", dobRaw, "")
	}
	if missing != "" || invalid != "" {
		return nil, reasonOf(missing, invalid)
	}
	st := letters(get(attribution.FieldState), false)
	value := ""
	if ltv := p.LTV[currency]; ltv > 0 {
		value = attribution.FormatAmount(ltv, currency)
	}
	return []string{h(mail), h(phone), h(fn), h(ln), h(z), h(city), h(st), h(strings.ToLower(cc)), h(dob), h(doby),
		h(gender(get(attribution.FieldGender))), h(years), value}, ""
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func reasonOf(missing, invalid string) string {
	if missing != "" {
		return "missing_" + missing
	}
	return "invalid_" + invalid
}

// e164 is the phone as Google writes it: "+" and the digits.
func e164(digits string) string {
	if sha256Hex(digits) {
		return digits
	}
	return "+" + digits
}

// WriteCSV writes a file: the header, then the rows, each cell a
// spreadsheet would read as a formula (starting with =, +, -, @, a tab or
// a carriage return) prefixed with an apostrophe, except a phone number
// in E.164 ("+" and digits) and a negative decimal ("-12.50", a report's
// loss), which a spreadsheet reads as numbers.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	out := make([]string, len(header))
	for _, r := range rows {
		for i, c := range r {
			out[i] = neutralise(c)
		}
		if err := cw.Write(out[:len(r)]); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func neutralise(c string) string {
	if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) || e164Digits(c) || negativeDecimal(c) {
		return c
	}
	return "'" + c
}

// negativeDecimal: "-" then digits with at most one '.' between digits.
func negativeDecimal(c string) bool {
	whole, frac, dot := strings.Cut(c[1:], ".")
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	return c[0] == '-' && digits(whole) && (!dot || digits(frac))
}

func e164Digits(c string) bool {
	if len(c) < 2 || c[0] != '+' {
		return false
	}
	for _, r := range c[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
