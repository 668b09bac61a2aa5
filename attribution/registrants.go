package attribution

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bulk registrant import (SPEC §1.2): the list a webinar platform or a
// spreadsheet exports, read into registrants of one webinar.

// MaxImportRows is the most registrants one import request may carry.
const MaxImportRows = 10_000

// Per-row reasons of an import (besides ReasonMissingEmail,
// ReasonInvalidEmail, ReasonBadTime and ReasonFutureTime).
const (
	ReasonInvalidRow   = "invalid_row"   // a JSON element neither a string nor an object, a CSV line that cannot be read
	ReasonInvalidField = "invalid_field" // a detail that is not text, too long, or with control characters
	ReasonTooManyRows  = "too_many_rows" // the body holds more than MaxImportRows
)

// MaxFieldBytes bounds one detail of a registrant.
const MaxFieldBytes = 256

// Registrant is one valid row of an import.
type Registrant struct {
	Email        string    // normalised (NormalizeEmail)
	RegisteredAt time.Time // UTC; zero when the row gives none
	// Profile holds the details the row gives, under the names of
	// ProfileFields (trimmed, as written; audience exports normalise them).
	Profile map[string]string
	Index   int // as in RowReject
}

// Profile fields: the details of a person that an import may give and an
// audience export reads. A lead's "name" (full name) stands in for first
// and last name when those are absent.
const (
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldPhone     = "phone"
	FieldCountry   = "country"
	FieldZip       = "zip"
	FieldCity      = "city"
	FieldState     = "state"
	FieldBirthDate = "dob"
	FieldGender    = "gender"
	FieldGroup     = "group"
	FieldName      = "name"
)

// ProfileFields are the details an import reads, each with the CSV column
// names that give it (compared as emailColumns are); in JSON the field's
// own name.
var ProfileFields = []struct {
	Name    string
	Columns []string
}{
	{FieldFirstName, []string{"first_name", "first name", "firstname", "given name", "prénom", "prenom"}},
	{FieldLastName, []string{"last_name", "last name", "lastname", "surname", "family name", "nom de famille", "nom"}},
	{FieldPhone, []string{"phone", "phone number", "telephone", "téléphone", "mobile", "portable"}},
	{FieldCountry, []string{"country", "country code", "pays"}},
	{FieldZip, []string{"zip", "zip code", "postal code", "postcode", "code postal"}},
	{FieldCity, []string{"city", "town", "ville"}},
	{FieldState, []string{"state", "region", "région", "province"}},
	{FieldBirthDate, []string{"dob", "date of birth", "birth date", "birthday", "date de naissance"}},
	{FieldGender, []string{"gender", "sex", "genre", "sexe"}},
	{FieldGroup, []string{"group", "groupe", "segment"}},
	{FieldName, []string{"name", "full name", "nom complet"}},
}

// RowReject is a refused row: Index is its position in the body (array
// index, or data row: 0 is the first row after a CSV header), Reason a
// per-row reason and Detail a short explanation that quotes at most 64
// bytes of the offending value.
type RowReject struct {
	Index  int
	Line   int // a CSV row's line in the body (1 is the header); 0 in JSON
	Reason string
	Detail string
}

// Column names a CSV header may give the email and the registration time,
// compared without regard to case or surrounding spaces: the usual English
// and French spreadsheet headers.
var (
	emailColumns = []string{"email", "e-mail", "email address", "e-mail address", "adresse email", "adresse e-mail", "courriel", "mail"}
	timeColumns  = []string{"registered_at", "registration_date", "registration date", "registered", "date d'inscription", "created_at", "date"}
)

// ParseRegistrants reads an import body: JSON (an array of email strings
// or of objects {"email", "registered_at", and ProfileFields by name}, or
// an object {"registrants": [...]}) or CSV with a header row naming an
// email column (emailColumns), maybe a time column (timeColumns) and
// columns of ProfileFields; contentType decides as in ParseCRMEvents, and
// so does the CSV separator. Times are read as CRM event times are; one
// more than CRMClockSkew after now is ReasonFutureTime. Emails are
// normalised as the pixel's are; details are trimmed, and one longer than
// MaxFieldBytes or holding control characters refuses its row.
//
// err is a *Rejection for the body as a whole: ReasonInvalidBody (not JSON
// or CSV, or no email column, with Param "email"), ReasonTooManyRows.
func ParseRegistrants(body []byte, contentType string, now time.Time) (rows []Registrant, rejected []RowReject, err error) {
	p := registrantParser{now: now}
	if err := parseList(&p, body, contentType); err != nil {
		return nil, nil, err
	}
	return p.rows, p.rejected, nil
}

type registrantParser struct {
	now      time.Time
	rows     []Registrant
	rejected []RowReject
	line     int // of the CSV row being read
}

func (p *registrantParser) parseJSON(body []byte) error {
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		var wrapped struct {
			Registrants []json.RawMessage `json:"registrants"`
		}
		if json.Unmarshal(body, &wrapped) != nil || wrapped.Registrants == nil {
			return reject(ReasonInvalidBody, "")
		}
		list = wrapped.Registrants
	}
	if len(list) > MaxImportRows {
		return reject(ReasonTooManyRows, "")
	}
	for i, raw := range list {
		var email string
		if json.Unmarshal(raw, &email) == nil {
			p.row(i, "", email, "", nil)
			continue
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // a zip or a phone as a number keeps its digits
		if dec.Decode(&obj) != nil || obj == nil {
			p.refuse(i, ReasonInvalidRow, "not an email string or an object")
			continue
		}
		text := func(k string) (string, bool) {
			switch v := obj[k].(type) {
			case string:
				return v, true
			case json.Number:
				return v.String(), true
			case nil:
				return "", true
			}
			return "", false
		}
		email, _ = text("email")
		at, _ := text("registered_at")
		details := map[string]string{}
		bad := ""
		for _, f := range ProfileFields {
			v, ok := text(f.Name)
			if !ok {
				bad = f.Name
			}
			details[f.Name] = v
		}
		if bad != "" {
			p.refuse(i, ReasonInvalidField, bad+" is not text")
			continue
		}
		p.row(i, "", email, at, details)
	}
	return nil
}

func (p *registrantParser) parseCSV(body []byte) error {
	emailCol, timeCol := -1, -1
	detailCols := map[string]int{}
	header := func(header []string) error {
		emailCol, timeCol = namedColumn(header, emailColumns), namedColumn(header, timeColumns)
		if emailCol < 0 {
			return reject(ReasonInvalidBody, "email")
		}
		taken := map[int]bool{emailCol: true, timeCol: true}
		for _, f := range ProfileFields {
			if c := namedColumn(header, f.Columns); c >= 0 && !taken[c] {
				detailCols[f.Name], taken[c] = c, true
			}
		}
		return nil
	}
	cell := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return rec[i]
	}
	return readCSV(body, MaxImportRows, ReasonTooManyRows, header, func(i, line int, rec []string) {
		details := make(map[string]string, len(detailCols))
		for name, c := range detailCols {
			details[name] = cell(rec, c)
		}
		p.line = line
		p.row(i, "line "+strconv.Itoa(line)+": ", cell(rec, emailCol), cell(rec, timeCol), details)
	}, func(i, line int) {
		p.line = line
		p.refuse(i, ReasonInvalidRow, "line "+strconv.Itoa(line)+": cannot be read as CSV")
	})
}

// namedColumn is the index of the first header cell that is one of names,
// or -1.
func namedColumn(header []string, names []string) int {
	for _, name := range names {
		for i, h := range header {
			if strings.EqualFold(trimSpace(h), name) {
				return i
			}
		}
	}
	return -1
}

// row validates one registrant; prefix starts its Detail (a CSV line).
func (p *registrantParser) row(index int, prefix, email, at string, details map[string]string) {
	email = trimSpace(email)
	if email == "" {
		p.refuse(index, ReasonMissingEmail, prefix+"no email")
		return
	}
	norm, err := NormalizeEmail(email)
	if err != nil {
		p.refuse(index, ReasonInvalidEmail, prefix+crmQuote(email)+" is not an email address")
		return
	}
	var t time.Time
	if at = trimSpace(at); at != "" {
		var ok bool
		if t, ok = parseCRMTime(at); !ok {
			p.refuse(index, ReasonBadTime, prefix+crmQuote(at)+" is not a date or a time")
			return
		}
		if t.After(p.now.Add(CRMClockSkew)) {
			p.refuse(index, ReasonFutureTime, prefix+crmQuote(at)+" is in the future")
			return
		}
	}
	var profile map[string]string
	for name, v := range details {
		if v = trimSpace(v); v == "" {
			continue
		}
		if len(v) > MaxFieldBytes || !plainText(v) {
			p.refuse(index, ReasonInvalidField, prefix+name+" "+crmQuote(v)+" is too long or holds control characters")
			return
		}
		if profile == nil {
			profile = map[string]string{}
		}
		profile[name] = v
	}
	p.rows = append(p.rows, Registrant{Email: norm, RegisteredAt: t, Profile: profile, Index: index})
}

// plainText reports valid UTF-8 without control characters.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (p *registrantParser) refuse(index int, reason, detail string) {
	p.rejected = append(p.rejected, RowReject{Index: index, Line: p.line, Reason: reason, Detail: detail})
}
